"""Self-play: the network plays itself, many games at once, and every move becomes a target.

    batch = play_games(evaluate, config, games=32, seed=0)       # in this process
    batch = generate(executor, net, config, games=256, seed=0)   # spread over workers

Each move of each game is chosen by a PUCT search (`straw.mcts`) guided by the network. The search's
visit counts at the root are the *improved policy*: the policy head is trained toward them, and
the value head toward the game's final result from the view of the player who was to move. A
lost game teaches as much as a won one: every one of its positions gets the search's improved
policy as its target, whatever came of the move played there (Silver et al. 2017).

All games advance together, one move each per round, and each simulation of a round asks the
network about the leaves of all the games' trees in one call (`run_batched`). On a CPU this is
what makes self-play affordable: a batch of 32 positions costs little more than one.

Exploration, as AlphaZero: Dirichlet noise on the root's priors, and the first
`temperature_moves` moves sampled in proportion to the visit counts (later ones take the most
visited move). The value target is the result (+1 win, -1 loss, 0 draw), or with `score_weight`
w > 0 a mix with the final margin, (1 - w) * result + w * score / board area, so that among won
games a bigger win is worth more (on 5x5 the solved margin, B+25, is the whole board).

Optional resignation: a player whose root value falls below `-resign_threshold` resigns, except
in a `resign_check_fraction` of games that play on, which measure how often a resignation would
have been wrong.

`generate` splits the games into jobs for a `concurrent.futures.Executor`: a process pool on one
machine (`make_executor`), or the workers of a Dask cluster (`dask_executor`), or any other
Executor that can pickle a job.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from straw.go import Position, move_cap
from straw.mcts import PUCT, Evaluate, SearchConfig, Tree, run_batched
from straw.nets import NetConfig, PolicyValueNet, encode, evaluator, load_arrays, state_arrays


@dataclass(frozen=True)
class SelfPlayConfig:
    size: int = 5
    komi: float = 0.0
    simulations: int = 64  # new simulations per move (the reused subtree comes on top)
    c_puct: float = 1.25
    dirichlet_alpha: float = 0.4  # ~10 / legal moves, as in KataGo: 10/26 on 5x5, 10/50 on 7x7
    dirichlet_fraction: float = 0.25
    temperature_moves: int = 6  # moves sampled by visit count; after them, the most visited
    max_moves: int = 0  # 0: straw.go.move_cap(size); a game that long is scored as it stands
    resign_threshold: float | None = None  # resign when the root value < -threshold
    resign_check_fraction: float = 0.2  # games that never resign, to check resignations
    suicide_allowed: bool = False
    score_weight: float = 0.0  # value target: (1 - w) * win/loss + w * score / board area

    def move_limit(self) -> int:
        return self.max_moves or move_cap(self.size)


@dataclass
class SelfPlayBatch:
    """Training samples from finished games, and what happened in them.

    planes (n, PLANES, size, size) uint8, policies (n, size*size + 1) float32 (the root visit
    distribution), values (n,) float32 (the final result for the player to move there)."""

    planes: np.ndarray
    policies: np.ndarray
    values: np.ndarray
    moves: list[list[int]] = field(default_factory=list)  # every game's moves
    lengths: list[int] = field(default_factory=list)  # every game's rows (see `game`)
    scores: list[float] = field(default_factory=list)  # Black's Tromp-Taylor score minus komi
    resigned: int = 0  # games ended by resignation
    checked: int = 0  # games that played on past a resignation they would have made
    wrong_resignations: int = 0  # of those, games the would-be resigner went on to win or draw
    cpu_seconds: float = 0.0

    def game(self, g: int) -> slice:
        """The rows of game `g` in planes, policies and values: its positions in order, one per
        move, and for a game ended by resignation one more, the position its loser resigned in."""
        start = sum(self.lengths[:g])
        return slice(start, start + self.lengths[g])

    @staticmethod
    def concatenate(batches: list[SelfPlayBatch]) -> SelfPlayBatch:
        return SelfPlayBatch(
            planes=np.concatenate([b.planes for b in batches]),
            policies=np.concatenate([b.policies for b in batches]),
            values=np.concatenate([b.values for b in batches]),
            moves=[m for b in batches for m in b.moves],
            lengths=[n for b in batches for n in b.lengths],
            scores=[s for b in batches for s in b.scores],
            resigned=sum(b.resigned for b in batches),
            checked=sum(b.checked for b in batches),
            wrong_resignations=sum(b.wrong_resignations for b in batches),
            cpu_seconds=sum(b.cpu_seconds for b in batches),
        )


def play_games(evaluate: Evaluate, config: SelfPlayConfig, games: int, seed: int) -> SelfPlayBatch:
    """Play `games` games of self-play at once in this process; see the module docstring."""
    started = time.process_time()
    rng = np.random.default_rng(seed)
    trees = []
    for _ in range(games):
        search = SearchConfig(
            rule=PUCT(c=config.c_puct),
            dirichlet_alpha=config.dirichlet_alpha,
            dirichlet_fraction=config.dirichlet_fraction,
            seed=int(rng.integers(2**31)),
        )
        start = Position(config.size, config.komi, config.suicide_allowed)
        trees.append(Tree(start, search))
    may_resign = [
        config.resign_threshold is not None and rng.random() >= config.resign_check_fraction
        for _ in range(games)
    ]
    would_resign: list[int | None] = [None] * games  # the colour that would have resigned
    positions: list[list[Position]] = [[] for _ in range(games)]
    policies: list[list[np.ndarray]] = [[] for _ in range(games)]
    moves: list[list[int]] = [[] for _ in range(games)]
    scores: list[float | None] = [None] * games
    active = list(range(games))
    while active:
        run_batched([trees[g] for g in active], evaluate, config.simulations)
        for g in active:
            tree = trees[g]
            position = tree.root.state
            counts = tree.visit_counts()
            positions[g].append(position)
            policies[g].append(counts / counts.sum())
            if config.resign_threshold is not None and would_resign[g] is None:
                if tree.root_value() < -config.resign_threshold:
                    would_resign[g] = position.to_play
                    if may_resign[g]:  # the opponent wins: score it as a full board for her
                        scores[g] = -position.to_play * position.size**2
                        continue
            if len(moves[g]) < config.temperature_moves:
                action = int(rng.choice(len(counts), p=counts / counts.sum()))
            else:
                action = int(np.argmax(counts))
            moves[g].append(action)
            tree.advance(action)
            after = tree.root.state
            if after.is_terminal() or len(moves[g]) >= config.move_limit():
                scores[g] = after.score()
        active = [g for g in active if scores[g] is None]

    batch_planes, batch_policies, batch_values = [], [], []
    resigned = checked = wrong = 0
    for g in range(games):
        black_result = float(np.sign(scores[g]))
        margin = float(np.clip(scores[g] / config.size**2, -1, 1))
        black_target = (1 - config.score_weight) * black_result + config.score_weight * margin
        batch_planes.append(encode(positions[g]).astype(np.uint8))
        batch_policies.append(np.array(policies[g], dtype=np.float32))
        to_play = np.array([p.to_play for p in positions[g]], dtype=np.float32)
        batch_values.append(black_target * to_play)
        if would_resign[g] is not None:
            if may_resign[g]:
                resigned += 1
            else:
                checked += 1
                wrong += black_result * would_resign[g] >= 0
    return SelfPlayBatch(
        planes=np.concatenate(batch_planes),
        policies=np.concatenate(batch_policies),
        values=np.concatenate(batch_values),
        moves=moves,
        lengths=[len(p) for p in positions],
        scores=[float(s) for s in scores],
        resigned=resigned,
        checked=checked,
        wrong_resignations=int(wrong),
        cpu_seconds=time.process_time() - started,
    )


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
    return ProcessPoolExecutor(workers or os.cpu_count(), context, initializer=_one_thread)


def dask_executor(client) -> Executor:
    """The workers of the Dask cluster a `distributed.Client` is connected to, as an Executor,
    each worker set to one torch thread as `make_executor`'s are. Start the cluster's workers
    where `straw` is installed, one thread each: `dask worker tcp://HOST:8786 --nthreads 1`."""
    client.run(_one_thread)
    return client.get_executor()


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
