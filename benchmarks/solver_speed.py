"""How fast `straw.solver` is on 3x3 Go: the empty board, a mid-game position, and every
position of random games with one `Solver` keeping its table.

Rules: area scoring, komi 0, positional superko, suicide forbidden. Random games pick uniformly
among the legal moves, passes included.

    python benchmarks/solver_speed.py [--games 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time

from straw.go import Position, format_point
from straw.solver import Solver


def random_game(rng: random.Random) -> list[Position]:
    """Every non-terminal position of one random 3x3 game."""
    position, positions = Position(3, komi=0, suicide_allowed=False), []
    while not position.is_terminal():
        positions.append(position)
        position = position.play(rng.choice(position.legal_actions()))
    return positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    print()
    empty = Position(3, komi=0, suicide_allowed=False)
    solution = Solver().solve(empty)
    best = [format_point(a, 3) for a in solution.best_actions]
    print(
        f"3x3 empty board: B{solution.value:+g}, best first moves {best}, "
        f"{solution.nodes:,} positions, {solution.seconds:.2f} s"
    )
    start = time.perf_counter()
    values = Solver().action_values(empty)
    margins = ", ".join(f"{format_point(a, 3)} {v:+g}" for a, v in values.items())
    print(f"every first move's margin for Black ({time.perf_counter() - start:.2f} s): {margins}")

    rng = random.Random(args.seed)
    games = [random_game(rng) for _ in range(args.games)]
    fresh = []  # (seconds, move number, game length) of each position, each with a new Solver
    for game in games:
        for move, position in enumerate(game):
            start = time.perf_counter()
            Solver().action_values(position)
            fresh.append((time.perf_counter() - start, move, len(game)))
    mean = sum(seconds for seconds, _, _ in fresh) / len(fresh)
    slowest, move, length = max(fresh)
    print(
        f"action values at one position, a new solver each: mean {mean:.3f} s, "
        f"slowest {slowest:.2f} s (move {move} of a game of {length})"
    )
    solver = Solver()
    positions = sum(len(game) for game in games)
    start = time.perf_counter()
    for game in games:
        for position in game:
            solver.action_values(position)
    seconds = time.perf_counter() - start
    print(
        f"action values at all {positions} positions of {args.games} random games, one solver: "
        f"{seconds:.1f} s ({solver.search.nodes:,} positions searched)"
    )


if __name__ == "__main__":
    main()
