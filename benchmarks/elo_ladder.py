"""An Elo ladder: fixed opponents and a run's networks, rated together from matches between them.

Every network plays every fixed opponent, and the fixed opponents play each other, `--games`
games a pair with colours alternating, on the board and komi of the networks; `straw.arena.
elo_ladder` then rates all of them at once (Bradley-Terry with BayesElo's prior of one draw per
pair), with 95% intervals, the first fixed opponent at 0. Players are named as `arena.make_player`
names them: random, mcts:N, gnugo:L; networks are given as files and search `--simulations` a
move with root noise (so that their games against deterministic opponents differ).

    python benchmarks/elo_ladder.py CHECKPOINT... --anchors random mcts:1000 gnugo:0 gnugo:10 \\
        --games 20 --out FILE

A ladder grows as a run trains: `--reuse EARLIER.json` takes the matches an earlier ladder (an
`--out` file of the same board, komi, games a pair and simulations) already played, a network
counting as the same when its file name and training CPU time are, and plays only the new pairs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch
from timing import command_and_machine

from straw import arena, nets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="network files (.safetensors)")
    parser.add_argument(
        "--anchors", nargs="+", default=["random", "mcts:1000", "gnugo:0", "gnugo:10"]
    )
    parser.add_argument("--games", type=int, default=20, help="games per pair")
    parser.add_argument("--simulations", type=int, default=64, help="network search size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", nargs="+", default=[], help="earlier ladders' --out files")
    parser.add_argument("--out", help="write the matches and the ratings here as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = command_and_machine()

    metas = {path: nets.read_safetensors(path)[1] for path in args.checkpoints}
    sizes = {(m["board_size"], m["komi"]) for m in metas.values()}
    if len(sizes) != 1:
        raise SystemExit(f"error: the networks are for different boards or komi: {sizes}")
    ((size, komi),) = sizes
    names = {path: f"net:{Path(path).name}" for path in args.checkpoints}
    if len(set(names.values())) < len(names):
        raise SystemExit("error: two networks have one file name; a ladder names them by it")

    def player(name: str, seed: int):
        path = next((p for p, n in names.items() if n == name), None)
        if path is not None:
            return arena.make_player(f"net:{path}", size, args.simulations, seed, noise=True)
        return arena.make_player(name, size, args.simulations, seed)

    pairs = list(itertools.combinations(args.anchors, 2))
    pairs += [(name, anchor) for name in names.values() for anchor in args.anchors]
    cpu = {n: metas[p]["cpu_seconds"] for p, n in names.items()}
    played = earlier_matches(args.reuse, (size, komi, args.games, args.simulations), cpu)
    matches = []
    for k, (a, b) in enumerate(pairs):
        if (a, b) in played:
            matches.append(played[a, b])
            print(f"{a} vs {b}: {played[a, b][2]:g} points of {played[a, b][3]} (reused)")
            continue
        started = time.process_time()
        first, second = player(a, args.seed + 2 * k), player(b, args.seed + 2 * k + 1)
        try:
            result = arena.match(first, second, args.games, size, komi, names=(a, b))
        finally:
            for p in (first, second):
                if hasattr(p, "close"):
                    p.close()
        points = result.wins + 0.5 * result.draws
        matches.append([a, b, points, result.games])
        print(f"{a} vs {b}: {result} [{time.process_time() - started:.0f} s]", flush=True)

    ladder = arena.elo_ladder([tuple(m) for m in matches], anchor=args.anchors[0])
    print(f"\nElo, {args.anchors[0]} = 0, with 95% intervals:")
    for name, (rating, low, high) in sorted(ladder.items(), key=lambda item: -item[1][0]):
        trained = f"  ({cpu[name] / 60:.1f} training CPU-min)" if name in cpu else ""
        print(f"  {name:32s} {rating:+7.0f}  ({low:+.0f} to {high:+.0f}){trained}")
    if args.out:
        summary = {
            "command": command,
            "board_size": size,
            "komi": komi,
            "games_per_pair": args.games,
            "simulations": args.simulations,
            "matches": matches,
            "ratings": {name: [round(v, 1) for v in r] for name, r in ladder.items()},
            "training_cpu_seconds": cpu,
        }
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


def earlier_matches(paths: list[str], setting: tuple, cpu: dict[str, float]) -> dict:
    """The matches of earlier ladders (`--out` files) played with this `setting` (board, komi,
    games a pair, simulations), by pair; a network in them must have the training CPU time that
    `cpu` gives its name, or its matches are not this network's and are left out."""
    played = {}
    for path in paths:
        earlier = json.loads(Path(path).read_text())
        theirs = tuple(earlier[k] for k in ("board_size", "komi", "games_per_pair", "simulations"))
        if theirs != setting:
            raise SystemExit(
                f"error: {path} was played with board, komi, games a pair and simulations "
                f"{theirs}, not {setting}"
            )
        cpu_then = earlier["training_cpu_seconds"]
        for a, b, points, games in earlier["matches"]:
            if all(cpu_then.get(name) == cpu.get(name) for name in (a, b)):
                played[a, b] = [a, b, points, games]
    return played


if __name__ == "__main__":
    main()
