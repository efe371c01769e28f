"""How fast network-guided search runs: simulations per second, batched across games vs one game.

Batched: `--games` self-play games on the same board at once, each with its own PUCT tree, all
advanced by `straw.mcts.run_batched`, so that every step evaluates one leaf of every tree in one
call to the network. Single: one tree, one leaf per network call (`straw.mcts.run`), the same
network. Networks are freshly initialised (speed does not depend on the weights): 5x5 with 4
residual blocks x 32 channels (the shipped 5x5 network's size), 7x7 with 6 x 64. Each search
starts from an opening position reached by a few random moves, so trees do not all look alike.

    python benchmarks/selfplay_speed.py [--seconds 10] [--games 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import torch

from straw.go import Position, random_move
from straw.mcts import PUCT, SearchConfig, Tree, run, run_batched
from straw.nets import NetConfig, PolicyValueNet, evaluator

NETS = {5: NetConfig(size=5, blocks=4, channels=32), 7: NetConfig(size=7, blocks=6, channels=64)}


def openings(size: int, count: int, seed: int) -> list[Position]:
    """`count` positions a few random moves into a game (komi 7.5, suicide forbidden)."""
    rng = np.random.default_rng(seed)
    positions = []
    for _ in range(count):
        position = Position(size, 7.5, suicide_allowed=False)
        for _ in range(int(rng.integers(0, 6))):
            position = position.play(random_move(position, rng))
        positions.append(position)
    return positions


def simulations_per_second(evaluate, starts, batched: bool, seconds: float) -> tuple[float, int]:
    """Search from fresh trees, 8 simulations at a time, until `seconds` have passed."""
    trees = [Tree(s, SearchConfig(rule=PUCT(), seed=i)) for i, s in enumerate(starts)]
    simulations = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if batched:
            run_batched(trees, evaluate, 8)
            simulations += 8 * len(trees)
        else:
            run(trees[0], evaluate, 8)
            simulations += 8
    return simulations / (time.perf_counter() - start), simulations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    parser.add_argument("--games", type=int, default=64, help="games searched at once")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    print(f"torch:   {torch.__version__}, {args.threads} thread(s); cpus: {os.cpu_count()}")
    print()
    for size, config in NETS.items():
        torch.manual_seed(args.seed)
        evaluate = evaluator(PolicyValueNet(config))
        starts = openings(size, args.games, args.seed)
        batched, n_batched = simulations_per_second(evaluate, starts, True, args.seconds)
        single, n_single = simulations_per_second(evaluate, starts[:1], False, args.seconds)
        print(
            f"{size}x{size} ({config.blocks} blocks x {config.channels} channels): "
            f"batched over {args.games} games {batched:>7,.0f} simulations/s ({n_batched}), "
            f"single game, batch 1 {single:>6,.0f} simulations/s ({n_single}), "
            f"speed-up {batched / single:.1f}x"
        )


if __name__ == "__main__":
    main()
