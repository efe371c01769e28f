"""The learning signal's noise on Go: the search's target for every move against the game's one
result spread over all its moves, per position and per game, on boards of growing length.

For each network given, its raw policy plays `--games` games against itself (the positions and
moves a policy gradient would learn from, `straw.outcome_rl.play_policy_games`), every position
of them is searched (PUCT, `--simulations`, no root noise, the search of the network's own
training), and three per-position gradients are taken (`straw.outcome_rl.per_position_gradients`):

    distill     sum_a pi_search(a | s) grad log p(a | s)   the AlphaZero loss's policy term
    reinforce   z grad log p(a | s)                        the move played, the game's result
    critic      (z - v(s)) grad log p(a | s)               the same, less the value head's guess

z is the game's result for the player to move, valued as the network's value head learned it
(`straw.go.utility` with its score weight). For each it reports, per position and per game (the
sum of a game's rows, one trajectory's whole contribution): the trace of the covariance tr S,
the squared norm of the mean |G|^2 (estimated without bias, tr S / n taken off), the noise scale
B = tr S / |G|^2 (McCandlish et al. 2018: the batch size above which more samples stop paying),
and the cosines between the three mean gradients. For the value target: the mean square of
z - v(s), and its intraclass correlation among the positions of a game (how much of it is one
draw shared by the whole game).

    python benchmarks/straw_noise.py checkpoints/3x3/network.safetensors \\
        checkpoints/5x5/network.safetensors checkpoints/7x7-gumbel/network.safetensors \\
        --games 128 --simulations 64 --out checkpoints/5x5-straw/noise.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from timing import command_and_machine

from straw import nets, outcome_rl
from straw.selfplay import SelfPlayConfig


def measure(path: str, games: int, simulations: int, seed: int) -> dict:
    net, meta = nets.load_network(path)
    score_weight = meta.get("train_config", {}).get("score_weight", 0.0)
    config = SelfPlayConfig(size=meta["board_size"], komi=meta["komi"], score_weight=score_weight)
    return {"network": path} | outcome_rl.signal_noise(net, config, games, simulations, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="+", help="network files (.safetensors)")
    parser.add_argument("--games", type=int, default=128, help="games of each raw policy")
    parser.add_argument("--simulations", type=int, default=64, help="search per position")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = command_and_machine()
    reports = []
    for path in args.networks:
        started = time.process_time()
        report = measure(path, args.games, args.simulations, args.seed)
        reports.append(report)
        print(json.dumps(report), f"[{time.process_time() - started:.0f} s]", flush=True)
    if args.out:
        summary = {"command": command, "simulations": args.simulations, "results": reports}
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
