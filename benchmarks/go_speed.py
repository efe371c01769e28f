"""How fast `straw.go` plays random games: moves per second on 5x5, 9x9 and 19x19.

A random game here is the usual rollout policy of Monte Carlo Go, `straw.go.random_move`: each
move is uniform over the legal plays that do not fill one of the mover's own single-point eyes,
and a pass when there is none. The game ends after two passes, or at a cap of 3 x board area
moves. Every move goes through the public, immutable `Position.play`, as a search would use it;
rules are the defaults (Tromp-Taylor: positional superko, multi-stone suicide allowed).

    python benchmarks/go_speed.py [--seconds 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time

from straw.go import random_game


def moves_per_second(size: int, seconds: float, rng: random.Random) -> tuple[float, int, int]:
    games = moves = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        moves += len(random_game(size, rng)[0])
        games += 1
    return moves / (time.perf_counter() - start), games, moves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per board size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    print(f"cpus:    {os.cpu_count()} (this benchmark uses one process)")
    print()
    for size in (5, 9, 19):
        rng = random.Random(args.seed)
        rate, games, moves = moves_per_second(size, args.seconds, rng)
        print(
            f"{size:>2}x{size:<2}  {rate:>9,.0f} moves/s  "
            f"({games} games, {moves / games:.0f} moves per game)"
        )


if __name__ == "__main__":
    main()
