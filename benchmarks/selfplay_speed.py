"""How fast network-guided search runs: simulations per second, batched across games vs one game.

The networks are the shipped players (`checkpoints/5x5`, `checkpoints/7x7`), searched as their
training runs searched: PUCT with root noise, the run's simulations per move, the subtree kept
after each move, visit-count sampling for the first moves.

- Batched: `--games` games side by side, every step of `straw.mcts.run_batched` evaluating one
  leaf of every game's tree in one network call. A finished game is replaced by a new one, so the
  batch stays full: this measures what batching buys.
- Single: one game, one leaf per network call, the same network and search.
- Self-play: `straw.selfplay.play_games` with `--games` games, until the last one ends. Games
  end at different moves, so its batches shrink towards the end of the call; the mean batch the
  network saw is printed beside it.
- Network only: the same network evaluating batches of `--games` positions from those games, and
  nothing else: the ceiling that a search batched over that many games could reach.
- Where a batched simulation's time goes: the network call (timed inside the batched search), the
  Go rules (one `legal_actions` to expand a leaf and one `play` to reach it, timed alone on
  leaves the batched search evaluated), and the rest, which is the search's own work (selection,
  expansion, backup) and the caches the network call leaves cold. Network and rules together
  bound what a faster tree alone could reach.
- Unfolded: the network as training runs it, batch norms apart from their convolutions, on the
  same batches: what `straw.nets.inference_copy` saves.
- Memory kept, and glibc's defaults: the folded network alone, each timed in a new process, one
  that asks glibc to keep freed memory (`straw.nets.keep_freed_memory`, as every evaluator does)
  and one that does not: what keeping it saves, and the page faults per network call each way.
  Why it matters: every tensor a forward pass makes is a fresh `malloc`. glibc maps a block over
  its threshold (128 KiB to start with) straight from the system and unmaps it when it is freed,
  and trims the top of its heap when enough is free there, so the next call can fault the same
  activations in again page by page. glibc raises its thresholds as it sees large blocks freed,
  so how often that happens by default depends on where the blocks fall in the heap;
  `keep_freed_memory` sets the thresholds so that freed memory stays mapped.

    python benchmarks/selfplay_speed.py [--seconds 10] [--games 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from straw.go import Position
from straw.mcts import PUCT, SearchConfig, Tree, run_batched
from straw.nets import encode, evaluator, inference_copy, keep_freed_memory, load_network
from straw.selfplay import SelfPlayConfig, play_games

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"


def training_config(meta: dict) -> SelfPlayConfig:
    """The self-play settings the checkpoint's run used."""
    run = meta["train_config"]
    return SelfPlayConfig(
        size=run["board"],
        komi=run["komi"],
        simulations=run["simulations"],
        temperature_moves=run["temperature_moves"],
        dirichlet_alpha=run["dirichlet_alpha"],
        score_weight=run["score_weight"],
    )


def side_by_side(evaluate, config: SelfPlayConfig, games: int, seconds: float) -> float:
    """Simulations per second of `games` games searched side by side, each replaced by a new
    game when it ends, for `seconds`."""
    rng = np.random.default_rng(0)

    def new_tree() -> Tree:
        search = SearchConfig(
            rule=PUCT(c=config.c_puct),
            dirichlet_alpha=config.dirichlet_alpha,
            seed=int(rng.integers(2**31)),
            utility=partial(Position.utility, score_weight=config.score_weight),
        )
        return Tree(Position(config.size, config.komi, config.suicide_allowed), search)

    trees = [new_tree() for _ in range(games)]
    moves = [0] * games
    simulations = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        run_batched(trees, evaluate, config.simulations)
        simulations += config.simulations * games
        for g, tree in enumerate(trees):
            counts = tree.visit_counts()
            if moves[g] < config.temperature_moves:
                action = int(rng.choice(len(counts), p=counts / counts.sum()))
            else:
                action = int(np.argmax(counts))
            tree.advance(action)
            moves[g] += 1
            if tree.root.state.is_terminal() or moves[g] >= config.move_limit():
                trees[g], moves[g] = new_tree(), 0
    return simulations / (time.perf_counter() - start)


class Timed:
    """`evaluate`, counting its calls and the positions they carried, adding up the seconds spent
    in it, and keeping the positions of every `every`-th call: leaves from every stage of the
    games."""

    def __init__(self, evaluate, every: int = 25):
        self.evaluate, self.every = evaluate, every
        self.seconds, self.calls, self.positions, self.kept = 0.0, 0, 0, []

    def __call__(self, positions):
        if self.calls % self.every == 0:
            self.kept.extend(positions)
        self.calls, self.positions = self.calls + 1, self.positions + len(positions)
        start = time.perf_counter()
        try:
            return self.evaluate(positions)
        finally:
            self.seconds += time.perf_counter() - start


def whole_calls(evaluate, config: SelfPlayConfig, games: int, seconds: float):
    """Simulations per second of `play_games` calls with `games` games, for at least `seconds`;
    the mean number of positions per network call; and positions the games reached."""
    timed = Timed(evaluate)
    simulations, seed = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = play_games(timed, config, games, seed)
        simulations += batch.simulations
        seed += 1
    return simulations / (time.perf_counter() - start), timed.positions / timed.calls, timed.kept


def rules_per_simulation(positions: list[Position], seconds: float) -> float:
    """Seconds of the Go rules in one simulation: `legal_actions` of a position (the search
    expands a leaf with it) and `play` of one of its moves (the search reaches a leaf with it),
    over unfinished `positions`, each move drawn at random."""
    rng = np.random.default_rng(0)
    unfinished = [p for p in positions if not p.is_terminal()]
    moves = [(p, int(rng.integers(len(p.legal_actions())))) for p in unfinished]
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for position, k in moves:
            position.play(position.legal_actions()[k])
        done += len(moves)
    return (time.perf_counter() - start) / done


def network_only(evaluate, positions: list[Position], batch: int, seconds: float) -> float:
    """Positions per second of `evaluate` alone on batches of `batch` of `positions`."""
    batches = [positions[i : i + batch] for i in range(0, len(positions) - batch + 1, batch)]
    evaluated, k = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        evaluate(batches[k % len(batches)])
        evaluated, k = evaluated + batch, k + 1
    return evaluated / (time.perf_counter() - start)


def running(module):
    """An evaluator that runs `module` as it is: no `inference_copy` made, and glibc's malloc
    left as it is (`straw.nets.evaluator` does both)."""

    def evaluate(positions):
        with torch.inference_mode():
            logits, values = module(torch.from_numpy(encode(positions)))
        return torch.softmax(logits, dim=1).numpy(), values.numpy()

    return evaluate


def network_in_new_process(size: int, batch: int, seconds: float, keep: bool, threads: int):
    """Positions per second of the folded `size` network alone on batches of `batch` empty
    boards (its cost does not depend on the stones), and its page faults per call, timed in a
    new process that calls `keep_freed_memory` first or leaves glibc's malloc as it is (a
    process cannot undo it)."""
    argv = [sys.executable, __file__, "--network-alone", str(size), str(batch), str(int(keep))]
    argv += ["--seconds", str(seconds), "--threads", str(threads)]
    output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rate, faults = output.split()
    return float(rate), float(faults)


def network_alone(size: int, batch: int, keep: bool, seconds: float) -> tuple[float, float]:
    """What `network_in_new_process` runs there: positions per second, and the minor page faults
    per network call while they were timed."""
    if keep:
        keep_freed_memory()
    net, _ = load_network(CHECKPOINTS / f"{size}x{size}" / "network.safetensors", size)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    rate = network_only(running(inference_copy(net)), [Position(size)] * batch, batch, seconds)
    calls = rate * (time.perf_counter() - start) / batch
    return rate, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    parser.add_argument("--games", type=int, default=64, help="games searched at once")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--network-alone", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.network_alone:  # the new process of `network_in_new_process`
        size, batch, keep = args.network_alone
        print(*network_alone(size, batch, bool(keep), args.seconds))
        return

    print("command:", " ".join([os.path.basename(sys.executable), *sys.argv]))
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}")
    print(f"python:  {platform.python_implementation()} {platform.python_version()}")
    print(f"torch:   {torch.__version__}, {args.threads} thread(s); cpus: {os.cpu_count()}")
    print()
    for size in (5, 7):
        net, meta = load_network(CHECKPOINTS / f"{size}x{size}" / "network.safetensors", size)
        config, evaluate = training_config(meta), evaluator(net)
        timed = Timed(evaluate)
        start = time.perf_counter()
        batched = side_by_side(timed, config, args.games, args.seconds)
        network = timed.seconds / (time.perf_counter() - start) / batched  # seconds a simulation
        single = side_by_side(evaluate, config, 1, args.seconds)
        whole, mean_batch, positions = whole_calls(evaluate, config, args.games, args.seconds)
        ceiling = network_only(evaluate, positions, args.games, args.seconds)
        rules = rules_per_simulation(timed.kept, args.seconds)
        rest = 1 / batched - network - rules
        slower = network_only(running(net), positions, args.games, args.seconds)
        (kept, kept_faults), (default, default_faults) = (
            network_in_new_process(size, args.games, args.seconds, keep, args.threads)
            for keep in (True, False)
        )
        print(
            f"{size}x{size} ({net.config.blocks} blocks x {net.config.channels} channels, "
            f"{config.simulations} simulations a move), simulations/s:\n"
            f"  batched over {args.games} games {batched:7,.0f}\n"
            f"  single game, batch 1      {single:7,.0f}   speed-up {batched / single:.1f}x\n"
            f"  play_games({args.games} games)     {whole:7,.0f}   speed-up {whole / single:.1f}x"
            f"  (mean batch {mean_batch:.1f})\n"
            f"  network only, batch {args.games}    {ceiling:7,.0f}   (the ceiling; "
            f"batched self-play reaches {batched / ceiling:.2f} of it)\n"
            f"  a batched simulation: network call {network * 1e6:.0f} us, Go rules "
            f"{rules * 1e6:.0f} us, the rest {rest * 1e6:.0f} us; with the rest free "
            f"{1 / (network + rules):,.0f}/s\n"
            f"  unfolded network, batch {args.games} {slower:7,.0f}   (batch norms apart: the "
            f"folded copy is {ceiling / slower:.2f}x as fast)\n"
            f"  network alone, memory kept {kept:7,.0f}   glibc's defaults {default:7,.0f}   "
            f"(keeping freed memory: {kept / default:.2f}x as fast)\n"
            f"  page faults per network call: memory kept {kept_faults:.1f}, glibc's defaults "
            f"{default_faults:.1f}"
        )


if __name__ == "__main__":
    main()
