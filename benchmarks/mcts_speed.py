"""How many simulations per second `straw.mcts` runs, in one process, with no network.

- the tree alone: PUCT with `uniform_evaluator` (no rollout), from the empty 9x9 board;
- UCT with one random rollout per leaf (`rollout_evaluator`, the eye-avoiding policy
  `straw.go.random_move` for Go): tic-tac-toe, 5x5, 7x7 and 9x9 Go from the empty board;
- `run_batched` over 16 trees with the uniform evaluator, against 16 single-tree runs: the tree
  work is the same, so batching alone buys nothing here; it pays when `evaluate` is a network,
  whose cost per call hardly grows with the batch (see `benchmarks/selfplay_speed.py`).

    python benchmarks/mcts_speed.py [--simulations 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from straw import mcts
from straw.go import Position, random_move
from straw.tictactoe import TicTacToe


def rate(make_tree, evaluate, simulations: int, trees: int = 1) -> float:
    """Simulations per second over `trees` trees searched together."""
    forest = [make_tree() for _ in range(trees)]
    start = time.perf_counter()
    mcts.run_batched(forest, evaluate, simulations)
    return trees * simulations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=2000)
    args = parser.parse_args()
    n = args.simulations
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {platform.platform()}, python {platform.python_version()}")
    print()

    puct = mcts.SearchConfig(rule=mcts.PUCT())
    uct = mcts.SearchConfig(rule=mcts.UCT())
    tree_only = rate(lambda: mcts.Tree(Position(9), puct), mcts.uniform_evaluator, n)
    print(f"{'tree only, PUCT, uniform evaluator, 9x9':<48} {tree_only:>9,.0f} simulations/s")

    rollouts = mcts.rollout_evaluator(seed=0)
    ttt = rate(lambda: mcts.Tree(TicTacToe(), uct), rollouts, n)
    print(f"{'UCT + random rollout, tic-tac-toe':<48} {ttt:>9,.0f} simulations/s")
    go_rollouts = mcts.rollout_evaluator(seed=0, policy=random_move)
    for size in (5, 7, 9):
        r = rate(lambda size=size: mcts.Tree(Position(size), uct), go_rollouts, n)
        print(f"{f'UCT + eye-avoiding rollout, {size}x{size} Go':<48} {r:>9,.0f} simulations/s")

    single = rate(lambda: mcts.Tree(Position(9), puct), mcts.uniform_evaluator, n // 16, trees=1)
    batched = rate(lambda: mcts.Tree(Position(9), puct), mcts.uniform_evaluator, n // 16, 16)
    print(f"{'16 trees batched vs 1 tree, uniform, 9x9':<48} {batched:>9,.0f} vs {single:,.0f}")


if __name__ == "__main__":
    main()
