"""How strong is pure Monte Carlo tree search on small boards?

The player is `straw.arena.MCTSPlayer` with its defaults: UCT over one eye-avoiding random
rollout per leaf, the tree kept between moves, no network. It plays, with alternating colours:

- `RandomPlayer` (the rollout policy itself) on 5x5 (komi 0) and 7x7 (komi 9);
- GNU Go 3.8 at level 0 on 5x5 (komi 0), with `--chinese-rules --positional-superko
  --capture-all-dead`, at several numbers of simulations per move.

Every game is played to two passes and scored by Tromp-Taylor. Each line gives the score from the
search player's view, its 95% Wilson interval and the Elo difference it implies.

    python benchmarks/rollout_player_strength.py [--games 100] [--gnugo-games 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from straw.arena import MCTSPlayer, RandomPlayer, match
from straw.gtp_client import GnuGoPlayer


def report(label: str, result, seconds: float) -> None:
    print(f"{label:<44} {result}  [{seconds:.0f} s]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=100, help="games against random, per board")
    parser.add_argument("--simulations", type=int, default=200, help="per move, against random")
    parser.add_argument("--gnugo-games", type=int, default=20, help="games per GNU Go setting")
    parser.add_argument("--gnugo-simulations", type=int, nargs="+", default=[100, 400, 1600, 6400])
    args = parser.parse_args()
    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]), flush=True)

    for size, komi in ((5, 0.0), (7, 9.0)):
        start = time.perf_counter()
        result = match(
            MCTSPlayer(args.simulations, seed=1),
            RandomPlayer(seed=2),
            args.games,
            size,
            komi,
        )
        label = f"{size}x{size} komi {komi:g}: MCTS {args.simulations} vs random"
        report(label, result, time.perf_counter() - start)

    for simulations in args.gnugo_simulations:
        start = time.perf_counter()
        with GnuGoPlayer(level=0, capture_all_dead=True, seed=3) as gnugo:
            result = match(MCTSPlayer(simulations, seed=4), gnugo, args.gnugo_games, 5, 0.0)
        label = f"5x5 komi 0: MCTS {simulations} vs GNU Go level 0"
        report(label, result, time.perf_counter() - start)


if __name__ == "__main__":
    main()
