"""The command line: `python -m straw gtp [--size N --komi K ...]` serves GTP on stdin/stdout.

Each task is a subcommand (`gtp` now; `train`, `match`, `bench` to come): a function that takes
the parsed arguments, registered in `main` with its own options.
"""

from __future__ import annotations

import argparse
import math
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m straw", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    gtp = commands.add_parser("gtp", help="play Go over GTP on stdin/stdout (Sabaki, GoGui)")
    gtp.add_argument("--size", type=board_size, default=9, help="board size, 2 to 19 (9)")
    gtp.add_argument("--komi", type=komi, default=7.5, help="komi (7.5)")
    gtp.add_argument("--simulations", type=positive, default=400, help="searches per move (400)")
    gtp.add_argument("--seed", type=seed, default=0, help="random seed, 0 or more (0)")
    gtp.add_argument(
        "--suicide-allowed",
        action="store_true",
        help="allow suicide of several stones, as Tromp-Taylor does (GNU Go and CGOS forbid it)",
    )
    gtp.add_argument("--checkpoint", help="play with this trained network (.safetensors)")
    gtp.set_defaults(run=run_gtp)

    argv = sys.argv[1:] if argv is None else argv
    train = commands.add_parser("train", help="train a policy-value network by self-play")
    if argv[:1] == ["train"]:  # its options come from straw.train, which imports torch: only then
        from straw.train import add_arguments
        from straw.train import main as run_train

        add_arguments(train)
        train.set_defaults(run=lambda args: run_train(args, argv[1:]))

    args = parser.parse_args(argv)
    return args.run(args)


def run_gtp(args: argparse.Namespace) -> int:
    from straw.gtp import GTPEngine

    engine = GTPEngine(
        lambda: default_player(args),
        size=args.size,
        komi=args.komi,
        suicide_allowed=args.suicide_allowed,
    )
    try:
        engine.serve(sys.stdin.buffer, sys.stdout)  # bytes in, so no input can fail to decode
    except BrokenPipeError:  # the controller has gone: leave quietly, as GTP engines do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def default_player(args: argparse.Namespace):
    """The pure Monte Carlo tree search player of `straw.arena`, or with `--checkpoint` the
    AlphaZero player: the same search with PUCT, guided by the trained network."""
    from straw.arena import make_player

    checkpoint = getattr(args, "checkpoint", None)  # None in a Namespace from before --checkpoint
    spec = f"mcts:{args.simulations}" if checkpoint is None else f"net:{checkpoint}"
    try:
        return make_player(
            spec,
            size=getattr(args, "size", None),
            simulations=args.simulations,
            seed=args.seed,
            suicide_allowed=args.suicide_allowed,
        )
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


# Argument types: a bad value is a usage error (exit 2) that names it, never a traceback.


def board_size(text: str) -> int:
    size = int(text)
    if not 2 <= size <= 19:
        raise argparse.ArgumentTypeError(f"board sizes are 2 to 19, not {size}")
    return size


def positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def seed(text: str) -> int:
    number = int(text)
    if number < 0:  # numpy's generators take seeds of 0 or more
        raise argparse.ArgumentTypeError(f"seeds are 0 or more, not {number}")
    return number


def komi(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # as the GTP command `komi` refuses it
        raise argparse.ArgumentTypeError(f"komi must be a finite number, not {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
