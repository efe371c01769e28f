"""Go learned through the straw against Go learned from the search's targets, at equal CPU time.

ROOT holds one folder per training run, named ARM-seedK (ARM "alphazero" or "pg", or "plain"
for the AlphaZero loop without the auxiliary heads), each with the run's `log.jsonl` and networks
(`nets/iter_NNNN.safetensors`). For every run of the arms in `--arms` and every budget in
`--budgets` (seconds of training CPU time) the run's first network past the budget plays, in two
ways, so that what the network learned is told apart from what a search adds at play time:

    policy   its raw policy, each move sampled from it (`straw.arena.PolicyPlayer`)
    search   the AlphaZero player, PUCT with `--simulations` a move guided by it, root noise on

against each opponent of `--opponents` (`straw.arena.make_player` names them); and each network
of the first arm of `--rival` meets the second arm's network of the same seed and budget,
playing the same way (recorded once, from the first arm's view). Colours alternate; games are
scored by Tromp-Taylor at the runs' komi.

Every match is one line of `--out` (JSON lines), written when it ends; a second run of the same
command skips the matches already there, and `--shard I/N` plays every Nth match, so that N
processes share the work.

    python benchmarks/straw_comparison.py checkpoints/5x5-straw --budgets 300 600 1200 \\
        --opponents random mcts:200 gnugo:0 gnugo:10 --games 20 --simulations 64 \\
        --out checkpoints/5x5-straw/matches.jsonl
    python benchmarks/straw_comparison.py checkpoints/5x5-straw --budgets 600 1200 \
        --arms plain --rival alphazero plain --opponents random mcts:200 gnugo:0 gnugo:10 \
        --games 20 --simulations 64 --out checkpoints/5x5-straw/heads.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from timing import command_and_machine

from straw import arena, nets


def network_at(run: Path, budget: float) -> Path | None:
    """The run's first network whose training CPU time reaches `budget`, or None."""
    for path in sorted((run / "nets").glob("iter_*.safetensors")):
        if nets.read_safetensors(path)[1]["cpu_seconds"] >= budget:
            return path
    return None


def planned(root: Path, budgets, opponents, modes, arms, rivals) -> list[dict]:
    """Every match to play, as the keys of its line: the runs of `arms` against `opponents`,
    and the runs of `rivals[0]` against those of `rivals[1]`."""
    runs = sorted(p for p in root.iterdir() if p.is_dir() and p.name.split("-seed")[0] in arms)
    runs += sorted(root.glob(f"{rivals[0]}-seed*")) if rivals[0] not in arms else []
    matches = []
    for run in runs:
        arm, seed = run.name.split("-seed")[0], int(run.name.split("-seed")[1])
        for budget in budgets:
            network = network_at(run, budget)
            if network is None:
                continue
            for mode in modes:
                for opponent in opponents if arm in arms else ():
                    matches.append(dict(arm=arm, seed=seed, budget=budget, mode=mode,
                                        network=str(network), opponent=opponent))  # fmt: skip
                other = root / f"{rivals[1]}-seed{seed}"
                rival = network_at(other, budget) if arm == rivals[0] and other.is_dir() else None
                if rival is not None:
                    rival_spec = f"{mode}:{rival}"
                    matches.append(dict(arm=arm, seed=seed, budget=budget, mode=mode,
                                        network=str(network), opponent=rival_spec))  # fmt: skip
    return matches


def key(match: dict) -> tuple:
    return tuple(match[k] for k in ("arm", "seed", "budget", "mode", "opponent"))


def play(match: dict, games: int, simulations: int) -> dict:
    meta = nets.read_safetensors(match["network"])[1]
    size, komi = meta["board_size"], meta["komi"]
    spec = ("net:" if match["mode"] == "search" else "policy:") + match["network"]
    seed = match["seed"]
    player = arena.make_player(spec, size, simulations, seed, noise=True)
    rival_seed = seed + 1 if match["opponent"].startswith(("net:", "policy:", "search:")) else seed
    rival_spec = match["opponent"].replace("search:", "net:", 1)
    rival = arena.make_player(rival_spec, size, simulations, rival_seed, noise=True)
    started = time.process_time()
    try:
        result = arena.match(player, rival, games, size, komi, names=("network", "opponent"))
    finally:
        if hasattr(rival, "close"):
            rival.close()
    return match | {
        "training_cpu_seconds": meta["cpu_seconds"],
        "iteration": meta["iteration"],
        "games": games,
        "simulations": simulations,
        "wins": result.wins,
        "losses": result.losses,
        "draws": result.draws,
        "margins": result.margins,
        "cpu_seconds": round(time.process_time() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the folder of the runs (ARM-seedK)")
    parser.add_argument("--budgets", type=float, nargs="+", required=True, help="CPU seconds")
    parser.add_argument("--opponents", nargs="+", default=["random", "gnugo:0"])
    parser.add_argument("--modes", nargs="+", default=["policy", "search"])
    parser.add_argument("--arms", nargs="+", default=["alphazero", "pg"], help="runs that play")
    parser.add_argument(
        "--rival", nargs=2, default=["alphazero", "pg"], help="arms A B: A's networks meet B's"
    )
    parser.add_argument("--games", type=int, default=20, help="games per match")
    parser.add_argument("--simulations", type=int, default=64, help="search size, both sides")
    parser.add_argument("--shard", default="0/1", help="I/N: play every Nth match from the Ith")
    parser.add_argument("--out", required=True, help="JSON lines, one a match (appended)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = command_and_machine()
    index, count = (int(x) for x in args.shard.split("/"))
    out = Path(args.out)
    done = (
        {key(json.loads(line)) for line in out.read_text().splitlines()} if out.exists() else set()
    )
    todo = planned(
        Path(args.root), args.budgets, args.opponents, args.modes, args.arms, args.rival
    )[index::count]
    for match in todo:
        if key(match) in done:
            continue
        row = play(match, args.games, args.simulations) | {"command": command}
        with out.open("a") as lines:
            lines.write(json.dumps(row) + "\n")
        print(
            f"{row['arm']} seed {row['seed']} at {row['budget']:.0f} s ({row['mode']}) vs "
            f"{row['opponent']}: {row['wins']}-{row['losses']}-{row['draws']} "
            f"[{row['cpu_seconds']} s]",
            flush=True,
        )


if __name__ == "__main__":
    main()
