"""Strength against training time: each checkpoint of a run plays a match against one opponent.

Every network plays as the AlphaZero player (`straw.arena.MCTSPlayer` with PUCT, guided by the
network, `--simulations` a move; root noise with `--noise`), with `--player gumbel` as the same
network searching with a Gumbel root and no noise (the search the Gumbel paper plays with), or
with `--player policy` as its raw policy (`straw.arena.PolicyPlayer`, each move sampled from it,
no search), against the opponent, colours alternating, games played to two passes and scored by
Tromp-Taylor at the komi the run trained with. Opponents:

    random       uniform over moves that do not fill the mover's own eyes
    mcts:N       pure Monte Carlo tree search, N simulations with random rollouts
    gnugo:L      GNU Go 3.8 at level L (--chinese-rules --positional-superko --capture-all-dead)
    net:FILE     another network (an earlier checkpoint, say) as the same AlphaZero player
    policy:FILE  another network's raw policy

It prints one line per checkpoint (iteration, CPU seconds of training, score with its 95% Wilson
interval, Elo difference with its interval) and writes them as JSON to `--out`.

    python benchmarks/strength_curve.py CHECKPOINT... --opponent gnugo:0 --games 40 --out FILE
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from timing import command_and_machine

from straw import arena, nets


def opponent(spec: str, seed: int, simulations: int, noise: bool, size: int):
    if spec.startswith(("net:", "policy:")):
        seed += 1  # a network opponent's root noise is not the network player's
    try:
        return arena.make_player(spec, size, simulations, seed, noise)
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: opponent {spec!r}: {error}") from None


def at_cpu_marks(paths: list[str], every: float) -> list[str]:
    """The first checkpoint (in training order) past each multiple of `every` CPU-seconds."""
    cpu = {path: nets.read_safetensors(path)[1]["cpu_seconds"] for path in paths}
    chosen, mark = [], every
    for path in sorted(paths, key=cpu.get):
        if cpu[path] >= mark:
            chosen.append(path)
            while mark <= cpu[path]:
                mark += every
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="network files (.safetensors)")
    parser.add_argument(
        "--opponent", default="random", help="random, mcts:N, gnugo:L, net:FILE, policy:FILE"
    )
    parser.add_argument(
        "--player",
        default="net",
        choices=("net", "gumbel", "policy"),
        help="the checkpoints play with the PUCT search (net), with a Gumbel root and no noise "
        "(gumbel), or as their raw policy (policy)",
    )
    parser.add_argument("--games", type=int, default=20, help="games per checkpoint")
    parser.add_argument("--simulations", type=int, default=64, help="network search size")
    parser.add_argument("--noise", action="store_true", help="root noise for the network")
    parser.add_argument(
        "--colour",
        default="alternate",
        choices=("alternate", "black", "white"),
        help="the network's colour: alternating (Black first), or the same in every game",
    )
    parser.add_argument(
        "--every-cpu",
        type=float,
        help="of the checkpoints given, play only the first past each multiple of this many "
        "seconds of training CPU time (runs of different speeds compared at equal cost)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)

    command = command_and_machine()
    checkpoints = args.checkpoints
    if args.every_cpu:
        checkpoints = at_cpu_marks(checkpoints, args.every_cpu)
    rows = []
    for path in checkpoints:
        meta = nets.read_safetensors(path)[1]
        size, komi = meta["board_size"], meta["komi"]
        started = time.process_time()
        player = arena.make_player(
            f"{args.player}:{path}", size, args.simulations, args.seed, args.noise
        )
        other = opponent(args.opponent, args.seed, args.simulations, args.noise, size)
        try:
            result = arena.match(
                player,
                other,
                args.games,
                size,
                komi,
                names=("net", "opponent"),
                first_colour=args.colour,
            )
        finally:
            if hasattr(other, "close"):
                other.close()
        low, high = result.interval
        elo_low, elo_high = result.elo_interval
        row = {
            "checkpoint": Path(path).name,
            "iteration": meta["iteration"],
            "training_cpu_seconds": meta["cpu_seconds"],
            "wins": result.wins,
            "losses": result.losses,
            "draws": result.draws,
            "score": round(result.score, 4),
            "score_interval": [round(low, 4), round(high, 4)],
            "elo": round(result.elo, 1),
            "elo_interval": [round(elo_low, 1), round(elo_high, 1)],
            "margins": result.margins,  # the network's final score in each game
            "results": [record.result for record in result.records],
        }
        rows.append(row)
        print(
            f"{row['checkpoint']}: iteration {row['iteration']}, training CPU "
            f"{row['training_cpu_seconds']:.0f} s: {result}; the network's margins "
            f"{arena.margin_counts(result.margins)} [{time.process_time() - started:.0f} s]",
            flush=True,
        )
    if args.out:
        summary = {
            "command": command,
            "opponent": args.opponent,
            "games": args.games,
            "player": args.player,
            "simulations": args.simulations,
            "noise": args.noise,
            "colour": args.colour,
            "results": rows,
        }
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
