"""Self-play: the network plays itself, many games at once, and every move becomes a target.

    batch = play_games(evaluate, config, games=32, seed=0)       # in this process
    batch = generate(executor, net, config, games=256, seed=0)   # spread over workers

Each move of each game is chosen by a search guided by the network, and the search's improved
policy at the root is the move's policy target; the value target is the game's final result from
the view of the player who was to move. A lost game teaches as much as a won one: every one of its
positions gets the search's improved policy as its target, whatever came of the move played
there (Silver et al. 2017). Two searches (`config.search`):

- "puct": AlphaZero's. The target is the visit distribution; Dirichlet noise on the root's
  priors, and the first `temperature_moves` moves sampled in proportion to the visit counts
  (later ones take the most visited move). The subtree below the move played is kept.
- "gumbel": Danihelka et al. (2022), `straw.gumbel`. The target is softmax(logits + sigma(completed
  Q)), which improves on the prior even with fewer simulations than legal moves; the move is
  the action the sequential halving selects, whose Gumbel noise samples the openings. A new tree
  every move (its schedule is made for one search).

More supervision per game (Wu 2019, KataGo):

- Every row also records who owned each point when the game ended (`ownership`, from the view of
  the player to move there) and the final margin (`margins`): targets for the network's auxiliary
  heads, a whole board of them per position where the result is one number.
- Playout cap randomization (`fast_simulations` > 0): a move is searched in full with
  probability `full_search_probability` and recorded as a row; the other moves get a fast search
  of `fast_simulations` and are played but not recorded. More games for the same simulations,
  and every recorded target still comes from a full search.

The value target is the result (+1 win, -1 loss, 0 draw), or with `score_weight` w > 0 a mix with
the final margin, (1 - w) * result + w * score / board area (`straw.go.utility`), so that among
won games a bigger win is worth more (on 5x5 the solved margin, B+25, is the whole board). The
search values the games that end inside its tree the same way: were they worth their bare result
while the network's values are the mix, a player ahead would see +1 in ending the game at once
and less in anything else, and pass as soon as it led.

All games advance together, one move each per round, and each simulation of a round asks the
network about the leaves of all the games' trees in one call (`run_batched`). On a CPU this is
what makes self-play affordable: a batch of 32 positions costs little more than one.

Optional resignation: a player whose root value falls below `-resign_threshold` (after a full
search) resigns, except in a `resign_check_fraction` of games that play on, which measure how
often a resignation would have been wrong.

`generate` splits the games into jobs for a `concurrent.futures.Executor`: a process pool on one
machine (`make_executor`), or the workers of a Dask cluster (`dask_executor`), or any other
Executor that can pickle a job.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from straw.go import Position, move_cap, utility
from straw.gumbel import GumbelConfig
from straw.mcts import PUCT, Evaluate, SearchConfig, Tree, run_batched
from straw.nets import (
    PLANES,
    NetConfig,
    PolicyValueNet,
    encode,
    evaluator,
    load_arrays,
    state_arrays,
)


@dataclass(frozen=True)
class SelfPlayConfig:
    size: int = 5
    komi: float = 0.0
    search: str = "puct"  # or "gumbel": Gumbel root search, a new tree every move
    simulations: int = 64  # per move (PUCT: new ones, on top of the reused subtree)
    c_puct: float = 1.25
    dirichlet_alpha: float = 0.4  # ~10 / legal moves, as in KataGo: 10/26 on 5x5, 10/50 on 7x7
    dirichlet_fraction: float = 0.25
    num_considered: int = 16  # Gumbel: root actions sampled, then halved
    c_scale: float = 1.0  # Gumbel: sigma's scale on q rescaled to [0, 1]; mctx's default is 0.1
    temperature_moves: int = 6  # PUCT: moves sampled by visit count; after them, the most visited
    fast_simulations: int = 0  # > 0: playout cap randomization, a fast search on most moves
    full_search_probability: float = 0.25  # with fast_simulations: the moves searched fully
    max_moves: int = 0  # 0: straw.go.move_cap(size); a game that long is scored as it stands
    resign_threshold: float | None = None  # resign when the root value < -threshold
    resign_check_fraction: float = 0.2  # games that never resign, to check resignations
    suicide_allowed: bool = False
    score_weight: float = 0.0  # values: (1 - w) * win/loss + w * score / area (go.utility)

    def __post_init__(self):
        if self.search not in ("puct", "gumbel"):
            raise ValueError(f"search is 'puct' or 'gumbel', not {self.search!r}")
        if not 0 <= self.fast_simulations <= self.simulations:
            raise ValueError(
                f"fast_simulations must be from 0 to simulations ({self.simulations}), "
                f"not {self.fast_simulations}"
            )
        if not 0 < self.full_search_probability <= 1:
            raise ValueError(
                f"full_search_probability must be in (0, 1], not {self.full_search_probability}"
            )

    def move_limit(self) -> int:
        return self.max_moves or move_cap(self.size)


@dataclass
class SelfPlayBatch:
    """Training samples from finished games, and what happened in them. A row is a position that
    was searched in full: every move's, or with playout cap randomization only those moves'.

    planes (n, PLANES, size, size) uint8; policies (n, size*size + 1) float32, the search's
    target there; values (n,) float32, the final result for the player to move there;
    ownership (n, size*size) int8, who owned each point at the end (+1 the player to move there,
    -1 her opponent, 0 nobody); margins (n,) float32, the final score for the player to move
    divided by the board's area, clipped to [-1, 1]."""

    planes: np.ndarray
    policies: np.ndarray
    values: np.ndarray
    ownership: np.ndarray
    margins: np.ndarray
    moves: list[list[int]] = field(default_factory=list)  # every game's moves
    recorded: list[list[int]] = field(default_factory=list)  # every game's rows: move numbers
    scores: list[float] = field(default_factory=list)  # Black's Tromp-Taylor score minus komi
    resigned: int = 0  # games ended by resignation
    checked: int = 0  # games that played on past a resignation they would have made
    wrong_resignations: int = 0  # of those, games the would-be resigner went on to win or draw
    simulations: int = 0  # simulations run, fast searches included
    cpu_seconds: float = 0.0

    ARRAYS = ("planes", "policies", "values", "ownership", "margins")

    @staticmethod
    def no_rows(size: int) -> dict[str, np.ndarray]:
        """The five row arrays with no rows, shaped and typed for a `size` board."""
        n, area = size, size * size
        return {
            "planes": np.zeros((0, PLANES, n, n), np.uint8),
            "policies": np.zeros((0, area + 1), np.float32),
            "values": np.zeros(0, np.float32),
            "ownership": np.zeros((0, area), np.int8),
            "margins": np.zeros(0, np.float32),
        }

    @property
    def lengths(self) -> list[int]:
        """Every game's number of rows."""
        return [len(r) for r in self.recorded]

    def game(self, g: int) -> slice:
        """The rows of game `g`: its positions before the moves numbered `recorded[g]`, in
        order; in a game ended by resignation the last is the position its loser resigned in
        (number len(moves[g]))."""
        start = sum(self.lengths[:g])
        return slice(start, start + self.lengths[g])

    @staticmethod
    def concatenate(batches: list[SelfPlayBatch]) -> SelfPlayBatch:
        return SelfPlayBatch(
            **{a: np.concatenate([getattr(b, a) for b in batches]) for a in SelfPlayBatch.ARRAYS},
            moves=[m for b in batches for m in b.moves],
            recorded=[r for b in batches for r in b.recorded],
            scores=[s for b in batches for s in b.scores],
            resigned=sum(b.resigned for b in batches),
            checked=sum(b.checked for b in batches),
            wrong_resignations=sum(b.wrong_resignations for b in batches),
            simulations=sum(b.simulations for b in batches),
            cpu_seconds=sum(b.cpu_seconds for b in batches),
        )


def play_games(evaluate: Evaluate, config: SelfPlayConfig, games: int, seed: int) -> SelfPlayBatch:
    """Play `games` games of self-play at once in this process; see the module docstring."""
    started = time.process_time()
    rng = np.random.default_rng(seed)

    value_of_end = partial(Position.utility, score_weight=config.score_weight)

    def new_tree(state: Position, simulations: int) -> Tree:
        seed = int(rng.integers(2**31))
        if config.search == "gumbel":
            search = GumbelConfig(
                config.num_considered,
                c_scale=config.c_scale,
                interior=PUCT(config.c_puct),
                seed=seed,
                utility=value_of_end,
            )
        else:
            search = SearchConfig(
                PUCT(config.c_puct),
                config.dirichlet_alpha,
                config.dirichlet_fraction,
                seed,
                value_of_end,
            )
        return search.new_tree(state, simulations)

    states = [Position(config.size, config.komi, config.suicide_allowed)] * games
    trees = [new_tree(states[0], config.simulations) for _ in range(games)]
    may_resign = [
        config.resign_threshold is not None and rng.random() >= config.resign_check_fraction
        for _ in range(games)
    ]
    would_resign: list[int | None] = [None] * games  # the colour that would have resigned
    rows: list[list[tuple[Position, np.ndarray]]] = [[] for _ in range(games)]
    recorded: list[list[int]] = [[] for _ in range(games)]
    moves: list[list[int]] = [[] for _ in range(games)]
    scores: list[float | None] = [None] * games
    owners: list[np.ndarray | None] = [None] * games  # Black's view: +1 Black, -1 White
    fast = config.fast_simulations or config.simulations
    simulations = 0
    active = list(range(games))
    while active:
        full = [
            g
            for g in active
            if fast == config.simulations or rng.random() < config.full_search_probability
        ]
        if config.search == "gumbel":  # a new tree, its schedule made for this move's budget
            for g in active:
                trees[g] = new_tree(states[g], config.simulations if g in full else fast)
        run_batched([trees[g] for g in active], evaluate, fast)
        run_batched([trees[g] for g in full], evaluate, config.simulations - fast)
        simulations += fast * len(active) + (config.simulations - fast) * len(full)
        for g in active:
            tree, position = trees[g], states[g]
            if g in full:
                rows[g].append((position, tree.improved_policy()))
                recorded[g].append(len(moves[g]))
                if config.resign_threshold is not None and would_resign[g] is None:
                    if tree.root_value() < -config.resign_threshold:
                        would_resign[g] = position.to_play
                        if may_resign[g]:  # the opponent wins: score it as a full board for her
                            scores[g] = -position.to_play * position.size**2
                            owners[g] = np.full(position.size**2, -position.to_play)
                            continue
            action = choose_move(tree, config, len(moves[g]), rng)
            moves[g].append(action)
            states[g] = position.play(action)
            if config.search == "puct":
                tree.advance(action)  # the subtree below the move is kept
            if states[g].is_terminal() or len(moves[g]) >= config.move_limit():
                scores[g] = states[g].score()
                owners[g] = np.array(states[g].ownership())
        active = [g for g in active if scores[g] is None]

    # each column starts empty: a short game may have no rows
    columns = {name: [empty] for name, empty in SelfPlayBatch.no_rows(config.size).items()}
    resigned = checked = wrong = 0
    for g in range(games):
        black_result = float(np.sign(scores[g]))
        if rows[g]:
            positions, targets = zip(*rows[g], strict=True)
            for name, column in game_rows(positions, targets, scores[g], owners[g], config).items():
                columns[name].append(column)
        if would_resign[g] is not None:
            if may_resign[g]:
                resigned += 1
            else:
                checked += 1
                wrong += black_result * would_resign[g] >= 0
    return SelfPlayBatch(
        **{name: np.concatenate(column) for name, column in columns.items()},
        moves=moves,
        recorded=recorded,
        scores=[float(s) for s in scores],
        resigned=resigned,
        checked=checked,
        wrong_resignations=int(wrong),
        simulations=simulations,
        cpu_seconds=time.process_time() - started,
    )


def game_rows(
    positions, targets, score: float, owners: np.ndarray, config: SelfPlayConfig
) -> dict[str, np.ndarray]:
    """The rows of one finished game: for each of its `positions` (in order) the input planes,
    the policy target, the result and the final margin and ownership from the view of the
    player to move there, given Black's `score` and `owners` (+1 Black, -1 White, per point)."""
    to_play = np.array([p.to_play for p in positions], dtype=np.float32)
    margin = float(np.clip(score / config.size**2, -1, 1))
    return {
        "planes": encode(positions).astype(np.uint8),
        "policies": np.array(targets, dtype=np.float32),
        "values": utility(score, config.size, config.score_weight) * to_play,
        "ownership": (owners[None, :] * to_play[:, None]).astype(np.int8),
        "margins": (margin * to_play).astype(np.float32),
    }


def choose_move(tree: Tree, config: SelfPlayConfig, move_number: int, rng) -> int:
    """The move self-play makes after a search. PUCT: for the first `temperature_moves` moves one
    drawn in proportion to the visit counts, then the most visited. Gumbel: the action the
    sequential halving selected (its Gumbel noise already samples the opening moves)."""
    if config.search == "gumbel":
        return tree.best_action()
    counts = tree.visit_counts()
    if move_number < config.temperature_moves:
        return int(rng.choice(len(counts), p=counts / counts.sum()))
    return int(np.argmax(counts))


# ----------------------------------------------------------------------------------------------
# Many workers.


@dataclass(frozen=True)
class SelfPlayJob:
    """What a worker needs: the network (config and weights as numpy arrays), the games to play."""

    net_config: NetConfig
    weights: dict[str, np.ndarray]
    config: SelfPlayConfig
    games: int
    seed: int


def run_job(job: SelfPlayJob) -> SelfPlayBatch:
    """Play one job's games with a network rebuilt from its weights (runs in a worker)."""
    net = PolicyValueNet(job.net_config)
    load_arrays(net, job.weights)
    return play_games(evaluator(net), job.config, job.games, job.seed)


def generate(
    executor: Executor,
    net: PolicyValueNet,
    config: SelfPlayConfig,
    games: int,
    seed: int,
    jobs: int,
) -> SelfPlayBatch:
    """Play `games` games split into `jobs` jobs on `executor`; the result depends only on the
    network, the config, `games`, `seed` and `jobs`, not on which worker ran what."""
    weights = state_arrays(net)
    sizes = [games // jobs + (j < games % jobs) for j in range(jobs)]
    seeds = np.random.SeedSequence(seed).generate_state(jobs)
    futures = [
        executor.submit(run_job, SelfPlayJob(net.config, weights, config, n, int(s)))
        for n, s in zip(sizes, seeds, strict=True)
        if n > 0
    ]
    return SelfPlayBatch.concatenate([f.result() for f in futures])


def make_executor(workers: int | None = None) -> ProcessPoolExecutor:
    """A pool of `workers` processes (default: one per core), each using one torch thread."""
    context = multiprocessing.get_context("spawn")  # fork after torch has started threads can hang
    return ProcessPoolExecutor(workers or os.cpu_count(), context, initializer=_worker_start)


def dask_executor(client) -> Executor:
    """The workers of the Dask cluster a `distributed.Client` is connected to, as an Executor,
    each worker set to one torch thread as `make_executor`'s are. Start the cluster's workers
    where `straw` is installed, one thread each: `dask worker tcp://HOST:8786 --nthreads 1`."""
    client.run(_one_thread)
    return client.get_executor()


def _worker_start() -> None:
    """A pool worker's start: one torch thread, and an end when the process that made it dies
    (on Linux: a parent killed with SIGKILL runs no clean-up, and its workers would play on)."""
    _end_with_parent()
    _one_thread()


def _end_with_parent() -> None:
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != multiprocessing.parent_process().pid:  # it died before the call
        os._exit(1)


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
