"""The AlphaZero loop: self-play, a replay buffer, gradient steps, a checkpoint, and again.

    run = train(TrainConfig(board=5, iterations=40), "runs/5x5")   # resumes if runs/5x5 has one

One iteration plays `games_per_iteration` games of self-play with the current network
(`straw.selfplay`), adds their positions to a replay buffer of the latest `buffer_size` positions,
takes `steps_per_iteration` gradient steps on minibatches drawn from it (each minibatch turned by
a random one of the board's eight symmetries), and minimises (Silver et al. 2017, eq. 1)

    loss = (z - v)^2  -  pi . log p  +  c ||theta||^2

where pi is the search's visit distribution, z the game's result for the player to move, and
(p, v) the network's outputs. After every iteration it writes a checkpoint and a line of the JSONL
log, and measures the network's raw policy (no search) against a random player.

The same loop trains by policy gradient from the game's result instead (`learner="pg"`,
`straw.outcome_rl`): no search and no buffer; an iteration plays `games_per_iteration` games of
the raw policy in `steps_per_iteration` batches and takes one gradient step on each batch, as
it is played. Checkpoints, log, resumption and `cpu_budget` (stop once training has used that
much CPU time) are the same for both.

Resuming. Every random choice of iteration i comes from the run's seed and i, so nothing random
needs saving. The checkpoint (`state.safetensors`: network, optimizer moments, replay buffer,
iteration) is written to a temporary file and renamed, so a killed process leaves the previous
one whole; run the same command again and it continues from there, and the run it finishes is
the one it would have finished uninterrupted. A run may also resume with another `--jobs` (moved to
a machine with more cores, say): its games from then on are split among workers differently, so
they are other games than an uninterrupted run's, and `train_config` records the new number.
Each iteration's network is also kept on its own (`nets/iter_NNNN.safetensors` + `.json`) for the
Elo curve.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from straw.go import Position, move_cap, random_move
from straw.nets import (
    NetConfig,
    PolicyValueNet,
    encode,
    evaluator,
    load_arrays,
    read_safetensors,
    save_network,
    state_arrays,
    symmetry,
    write_safetensors,
)
from straw.outcome_rl import (
    BASELINES,
    PolicyGames,
    advantages,
    pg_loss_terms,
    play_policy_games,
    refresh_batch_norm,
)
from straw.selfplay import SelfPlayBatch, SelfPlayConfig, dask_executor, generate

LEARNERS = ("alphazero", "pg")


@dataclass(frozen=True)
class TrainConfig:
    board: int = 5
    komi: float = 0.0
    blocks: int = 4
    channels: int = 32
    auxiliary: bool = False  # ownership and score heads, trained on every game's final board
    iterations: int = 10
    games_per_iteration: int = 64
    search: str = "puct"  # or "gumbel"
    simulations: int = 64
    num_considered: int = 16  # Gumbel: root actions sampled
    c_scale: float = 1.0  # Gumbel: how far the search's values move the target from the prior
    fast_simulations: int = 0  # > 0: playout cap randomization
    full_search_probability: float = 0.25
    temperature_moves: int = 6
    dirichlet_alpha: float = 0.4
    resign_threshold: float | None = None
    score_weight: float = 0.0
    buffer_size: int = 40_000
    batch_size: int = 128
    steps_per_iteration: int = 100
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4  # c in the loss
    eval_games: int = 20  # raw policy vs random after each iteration
    jobs: int = 2  # self-play jobs per iteration (one per worker)
    seed: int = 0
    # The learner: "alphazero" (search targets, the loop above) or "pg" (`straw.outcome_rl`:
    # no search; `steps_per_iteration` batches of new games, one gradient step on each).
    learner: str = "alphazero"
    baseline: str = "critic"  # pg: "none", "rloo", "grpo" or "critic"
    group_size: int = 8  # pg: games per group of the "rloo" and "grpo" baselines
    entropy_weight: float = 0.0  # pg: the policy's entropy, added to the objective
    cpu_budget: float = 0.0  # > 0: stop after the iteration that brings the CPU time this far

    def __post_init__(self):
        positive = ("games_per_iteration", "simulations", "buffer_size", "batch_size", "jobs")
        bad = [name for name in positive if getattr(self, name) < 1]
        bad += [
            name
            for name in (
                "iterations",
                "steps_per_iteration",
                "eval_games",
                "entropy_weight",
                "cpu_budget",
            )
            if getattr(self, name) < 0
        ]
        if bad:
            raise ValueError(f"these settings must be positive (or >= 0): {bad}")
        self.net_config()  # refuses a board size or widths it cannot build
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {LEARNERS}, not {self.learner!r}")
        if self.learner == "pg":
            self.check_pg()

    def check_pg(self) -> None:
        """Refuse policy-gradient settings that cannot run."""
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, not {self.baseline!r}")
        if self.steps_per_iteration < 1:
            raise ValueError("the pg learner needs steps_per_iteration >= 1")
        per_step, left = divmod(self.games_per_iteration, self.steps_per_iteration)
        if left or per_step < 1:
            raise ValueError(
                f"games_per_iteration ({self.games_per_iteration}) must split into "
                f"steps_per_iteration ({self.steps_per_iteration}) equal batches of games"
            )
        if self.baseline in ("rloo", "grpo") and (
            self.group_size < 2 or per_step % self.group_size
        ):
            raise ValueError(
                f"the {self.baseline} baseline needs groups of 2 or more games that divide "
                f"each step's {per_step} games; group_size is {self.group_size}"
            )
        if self.auxiliary:
            raise ValueError(
                "the pg learner trains the policy and value heads only (no --auxiliary)"
            )

    def net_config(self) -> NetConfig:
        return NetConfig(
            size=self.board, blocks=self.blocks, channels=self.channels, auxiliary=self.auxiliary
        )

    def selfplay_config(self) -> SelfPlayConfig:
        return SelfPlayConfig(
            size=self.board,
            komi=self.komi,
            search=self.search,
            simulations=self.simulations,
            num_considered=self.num_considered,
            c_scale=self.c_scale,
            fast_simulations=self.fast_simulations,
            full_search_probability=self.full_search_probability,
            temperature_moves=self.temperature_moves,
            dirichlet_alpha=self.dirichlet_alpha,
            resign_threshold=self.resign_threshold,
            score_weight=self.score_weight,
        )


# ----------------------------------------------------------------------------------------------
# The replay buffer and one gradient step.


@dataclass
class ReplayBuffer:
    """The latest `capacity` self-play rows: planes (uint8), search targets, results, and the
    final ownership (int8) and margin of every row's game."""

    capacity: int
    planes: np.ndarray
    policies: np.ndarray
    values: np.ndarray
    ownership: np.ndarray
    margins: np.ndarray

    ARRAYS = SelfPlayBatch.ARRAYS

    @classmethod
    def empty(cls, capacity: int, config: NetConfig) -> ReplayBuffer:
        return cls(capacity, **SelfPlayBatch.no_rows(config.size))

    def add(self, batch: SelfPlayBatch) -> None:
        for name in self.ARRAYS:
            kept = np.concatenate([getattr(self, name), getattr(batch, name)])[-self.capacity :]
            setattr(self, name, kept)

    def __len__(self) -> int:
        return len(self.values)

    def sample(self, rng: np.random.Generator, batch_size: int) -> dict[str, torch.Tensor]:
        """A minibatch as torch tensors, turned by one random symmetry of the board (the
        ownership map turns with the stones: it rides along as one more plane)."""
        index = rng.integers(len(self), size=batch_size)
        n = self.planes.shape[-1]
        stacked = np.concatenate(
            [self.planes[index], self.ownership[index].reshape(-1, 1, n, n)], axis=1
        ).astype(np.float32)
        stacked, policies = symmetry(stacked, self.policies[index], int(rng.integers(8)))
        return {
            "planes": torch.from_numpy(np.ascontiguousarray(stacked[:, :-1])),
            "policies": torch.from_numpy(policies),
            "values": torch.from_numpy(self.values[index]),
            "ownership": torch.from_numpy(np.ascontiguousarray(stacked[:, -1])),
            "margins": torch.from_numpy(self.margins[index]),
        }


OWNERSHIP_WEIGHT = 1.5  # KataGo's 1.5 / area per point: 1.5 times the mean over the points
SCORE_WEIGHT = 0.5  # the score head's squared error, on margins in [-1, 1]


def loss_terms(net: PolicyValueNet, minibatch: dict, weight_decay: float) -> dict:
    """The terms of the AlphaZero loss for one minibatch (`ReplayBuffer.sample`), and their sum;
    with auxiliary heads also the ownership loss (cross-entropy of each point's final owner) and
    the score loss."""
    out = net.outputs(minibatch["planes"])
    policy_loss = -(minibatch["policies"] * torch.log_softmax(out["policy"], dim=1)).sum(1).mean()
    value_loss = ((minibatch["values"] - out["value"]) ** 2).mean()
    l2 = weight_decay * sum((p**2).sum() for name, p in net.named_parameters() if "weight" in name)
    terms = {"policy_loss": policy_loss, "value_loss": value_loss, "l2": l2}
    if net.config.auxiliary:
        # P(player to move owns the point) = (1 + tanh(x)) / 2 = sigmoid(2x); nobody's: 1/2
        owner = (1 + minibatch["ownership"]) / 2
        terms["ownership_loss"] = OWNERSHIP_WEIGHT * F.binary_cross_entropy_with_logits(
            2 * out["ownership_logits"], owner
        )
        terms["score_loss"] = SCORE_WEIGHT * ((minibatch["margins"] - out["score"]) ** 2).mean()
    return {"loss": sum(terms.values()), **terms}


# ----------------------------------------------------------------------------------------------
# The loop.


def train(
    config: TrainConfig,
    run_dir: str | Path,
    executor: Executor | None = None,
    command: str | None = None,
    progress: bool = True,
) -> dict:
    """Run (or resume) the AlphaZero loop in `run_dir` until `config.iterations`; returns the
    last log record. `executor` runs self-play (default: a process pool of `config.jobs`)."""
    from straw.selfplay import make_executor

    run_dir = Path(run_dir)
    (run_dir / "nets").mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)  # the initial weights
    net = PolicyValueNet(config.net_config())
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    buffer = ReplayBuffer.empty(config.buffer_size, config.net_config())
    done, cpu_so_far, step = resume(run_dir, config, net, optimizer, buffer)
    trim_log(run_dir / "log.jsonl", done)
    command = command or " ".join(sys.argv)
    revision = git_revision()  # the code this process runs, whatever changes on disk meanwhile
    own_executor = executor is None and config.learner == "alphazero"  # pg plays in this process
    if own_executor:
        executor = make_executor(config.jobs)
    record: dict = {}
    bar = tqdm(range(done + 1, config.iterations + 1), disable=not progress, desc="iteration")
    try:
        for iteration in bar:
            if config.cpu_budget and cpu_so_far >= config.cpu_budget:
                break
            started_wall, started_cpu = time.time(), time.process_time()
            seeds = np.random.SeedSequence([config.seed, iteration]).generate_state(3)
            if config.learner == "pg":
                batch, sums = pg_iteration(net, optimizer, config, int(seeds[0]))
            else:
                batch, sums = alphazero_iteration(executor, net, optimizer, buffer, config, seeds)
            step += config.steps_per_iteration
            win_rate = policy_vs_random(net, config.board, config.komi, config.eval_games, seeds[2])
            cpu = time.process_time() - started_cpu + batch.cpu_seconds
            cpu_so_far += cpu
            scores = np.array(batch.scores)
            record = {
                "iteration": iteration,
                "step": step,
                **{key: round(value, 5) for key, value in sums.items()},
                "games": len(batch.moves),
                "positions": len(batch.values),
                "buffer": len(buffer),
                "mean_game_length": round(float(np.mean([len(m) for m in batch.moves])), 2),
                "simulations": batch.simulations,
                "black_win_rate": round(float(np.mean(scores > 0)), 4),
                "mean_black_score": round(float(np.mean(scores)), 3),
                "resigned": batch.resigned,
                "resign_checked": batch.checked,
                "wrong_resignations": batch.wrong_resignations,
                "policy_vs_random": None if np.isnan(win_rate) else round(win_rate, 4),
                "cpu_seconds": round(cpu, 2),
                "cpu_seconds_total": round(cpu_so_far, 2),
                "wall_seconds": round(time.time() - started_wall, 2),
            }
            meta = run_metadata(config, command, iteration, step, cpu_so_far, revision)
            save_network(net, run_dir / "nets" / f"iter_{iteration:04d}.safetensors", **meta)
            with open(run_dir / "log.jsonl", "a") as log:  # before the commit: see trim_log
                log.write(json.dumps(record) + "\n")
            save_state(run_dir, net, optimizer, buffer, meta)
            bar.set_postfix(
                loss=f"{sums['loss']:.3f}", black=record["black_win_rate"], vs_random=win_rate
            )
    finally:
        if own_executor:
            executor.shutdown()
    return record


def alphazero_iteration(
    executor, net, optimizer, buffer: ReplayBuffer, config: TrainConfig, seeds
) -> tuple[SelfPlayBatch, dict[str, float]]:
    """Self-play with the search, its rows into the buffer, then `steps_per_iteration` steps on
    minibatches from the buffer; returns the games and the mean of each loss term."""
    batch = generate(
        executor,
        net,
        config.selfplay_config(),
        config.games_per_iteration,
        int(seeds[0]),
        config.jobs,
    )
    buffer.add(batch)
    torch.manual_seed(int(seeds[1]))
    rng = np.random.default_rng(int(seeds[1]))
    net.train()
    sums: dict[str, float] = {}
    for _ in range(config.steps_per_iteration):
        terms = loss_terms(net, buffer.sample(rng, config.batch_size), config.weight_decay)
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value.item() / config.steps_per_iteration
    return batch, sums


def pg_iteration(
    net, optimizer, config: TrainConfig, seed: int
) -> tuple[SelfPlayBatch, dict[str, float]]:
    """`steps_per_iteration` times: a new batch of games of the raw policy (`straw.outcome_rl`),
    one gradient step on it. Played in this process, so its CPU time is this process's."""
    per_step = config.games_per_iteration // config.steps_per_iteration
    seeds = np.random.SeedSequence(seed).generate_state(config.steps_per_iteration)
    played: list[SelfPlayBatch] = []
    sums: dict[str, float] = {}
    for step_seed in seeds:
        net.eval()
        games: PolicyGames = play_policy_games(
            evaluator(net), config.selfplay_config(), per_step, int(step_seed)
        )
        c = advantages(games, config.baseline, config.group_size, games.predicted_values)
        terms = pg_loss_terms(net, games, c, config.entropy_weight, config.weight_decay)
        optimizer.zero_grad()
        terms["loss"].backward()
        optimizer.step()
        refresh_batch_norm(net, games)
        played.append(games.rows)
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value.item() / config.steps_per_iteration
    return SelfPlayBatch.concatenate(played), sums


def run_metadata(
    config: TrainConfig, command: str, iteration: int, step: int, cpu: float, revision: str
) -> dict:
    """What a checkpoint says about itself: the board, the run's config, how far it got, how
    (`revision`: the code's commit when the process started, from `git_revision`)."""
    return {
        "board_size": config.board,
        "komi": config.komi,
        "train_config": asdict(config),
        "iteration": iteration,
        "step": step,
        "seed": config.seed,
        "cpu_seconds": round(cpu, 2),
        "command": command,
        "git_revision": revision,
    }


def save_state(run_dir: Path, net, optimizer, buffer: ReplayBuffer, meta: dict) -> None:
    """The whole state of a run in one file, renamed into place (the commit point of an
    iteration), then its metadata as JSON for people."""
    arrays = state_arrays(net, "net.")
    optim_state = optimizer.state_dict()
    for index, state in optim_state["state"].items():
        for key, value in state.items():
            arrays[f"optimizer.{index}.{key}"] = value.detach().cpu().numpy().reshape(value.shape)
    arrays |= {f"buffer.{name}": getattr(buffer, name) for name in buffer.ARRAYS}
    meta = meta | {"optimizer_param_groups": optim_state["param_groups"]}
    write_safetensors(run_dir / "state.safetensors", arrays, meta)
    (run_dir / "state.json.tmp").write_text(json.dumps(meta, indent=2) + "\n")
    (run_dir / "state.json.tmp").replace(run_dir / "state.json")


def resume(run_dir: Path, config: TrainConfig, net, optimizer, buffer: ReplayBuffer):
    """Load the run's state if there is one; returns (iterations done, CPU seconds, step).
    Refuses a run made with another config (other than `iterations`, `jobs` or `cpu_budget`)."""
    path = run_dir / "state.safetensors"
    if not path.exists():
        return 0, 0.0, 0
    arrays, meta = read_safetensors(path)
    theirs = TrainConfig(**meta["train_config"])
    differences = {
        f.name: (getattr(theirs, f.name), getattr(config, f.name))
        for f in fields(TrainConfig)
        if f.name not in ("iterations", "jobs", "cpu_budget")
        and getattr(theirs, f.name) != getattr(config, f.name)
    }
    if differences:
        raise ValueError(
            f"{run_dir} holds a run with another config (setting: theirs, yours): {differences}; "
            "use a new run directory, or the same settings to resume"
        )
    load_arrays(net, {k: v for k, v in arrays.items() if k.startswith("net.")}, "net.")
    state: dict = {}
    for name, value in arrays.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = torch.from_numpy(value.copy())
    optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer_param_groups"]})
    for name in buffer.ARRAYS:
        setattr(buffer, name, arrays[f"buffer.{name}"])
    return meta["iteration"], meta["cpu_seconds"], meta["step"]


def trim_log(log_path: Path, done: int) -> None:
    """Drop log lines of iterations after the checkpoint (a run killed between its log line and
    its checkpoint redoes that iteration, and logs it again)."""
    if not log_path.exists():
        return
    lines = log_path.read_text().splitlines()
    kept = [line for line in lines if line and json.loads(line)["iteration"] <= done]
    if len(kept) != len(lines):
        log_path.write_text("".join(line + "\n" for line in kept))


def read_log(run_dir: str | Path) -> list[dict]:
    """The JSONL training log of a run, one dict per iteration."""
    lines = Path(run_dir, "log.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]


def git_revision() -> str:
    """The commit the code was at (with '+dirty' if it had uncommitted changes), or 'unknown'."""
    here = Path(__file__).parent
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return revision + ("+dirty" if dirty else "")


# ----------------------------------------------------------------------------------------------
# A cheap check of progress: the raw policy against a random player.


def policy_vs_random(net: PolicyValueNet, size: int, komi: float, games: int, seed) -> float:
    """Score (wins + draws/2) / games of the network's most probable legal move, no search,
    against `straw.go.random_move` (uniform over plays that fill no own eye); colours alternate.
    All games advance together, so each move is one network call."""
    if games == 0:
        return float("nan")
    rng = np.random.default_rng(int(seed))
    net.eval()
    positions = [Position(size, komi, suicide_allowed=False) for _ in range(games)]
    net_colour = [1 if g % 2 == 0 else -1 for g in range(games)]
    moves = [0] * games
    active = list(range(games))
    while active:
        to_net = [g for g in active if positions[g].to_play == net_colour[g]]
        if to_net:
            with torch.inference_mode():
                logits, _ = net(torch.from_numpy(encode([positions[g] for g in to_net])))
            for g, row in zip(to_net, logits.numpy(), strict=True):
                legal = positions[g].legal_actions()
                positions[g] = positions[g].play(legal[int(np.argmax(row[legal]))])
        for g in active:
            if g not in to_net:
                positions[g] = positions[g].play(random_move(positions[g], rng))
            moves[g] += 1
        active = [g for g in active if not positions[g].is_terminal() and moves[g] < move_cap(size)]
    results = [np.sign(positions[g].score()) * net_colour[g] for g in range(games)]
    return float(np.mean([(r + 1) / 2 for r in results]))


# ----------------------------------------------------------------------------------------------
# The command line: `python -m straw train --board 5 --run-dir runs/5x5 ...`.

DEFAULT_KOMI = {5: 0.0, 7: 9.0}  # 5x5: the solved board at komi 0; 7x7: komi 9 (believed B+9)

# `--recipe book`: the loop the book recommends on each board, the settings of the runs whose
# networks it ships (checkpoints/5x5, checkpoints/7x7-gumbel) but for --jobs. Without it every
# setting is TrainConfig's default: the plain loop of chapter 6. An option given on the command
# line overrides the recipe's.
RECIPES = {
    5: dict(
        auxiliary=True, iterations=400, games_per_iteration=64, simulations=32,
        temperature_moves=8, score_weight=1.0, buffer_size=40000, batch_size=256,
        steps_per_iteration=60, eval_games=20,
    ),
    7: dict(
        blocks=3, channels=32, auxiliary=True, iterations=1000, games_per_iteration=32,
        search="gumbel", c_scale=0.1, simulations=32, temperature_moves=10, dirichlet_alpha=0.2,
        score_weight=1.0, buffer_size=40000, batch_size=128, steps_per_iteration=40,
        eval_games=10,
    ),
}  # fmt: skip


def add_arguments(parser) -> None:
    """The options of `python -m straw train`, one per field of `TrainConfig`; an option not
    given is None, so that `main` can tell it from one given with the default's value."""
    defaults = TrainConfig()
    parser.add_argument("--board", type=int, required=True, help="board size, 2 to 19")
    parser.add_argument("--run-dir", required=True, help="where the run lives (resumed if there)")
    parser.add_argument("--komi", type=float, help="komi (default 0 on 5x5, 9 on 7x7, else 7.5)")
    parser.add_argument(
        "--recipe",
        choices=("book",),
        help="start from the settings the book recommends for the board (5x5 and 7x7: the "
        "runs of checkpoints/5x5 and checkpoints/7x7-gumbel); options given override them",
    )
    for f in fields(TrainConfig):
        if f.name in ("board", "komi"):
            continue
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true", default=None, help="(off)")
            continue
        kind = float if f.name == "resign_threshold" else type(default)
        choices = {"search": ("puct", "gumbel"), "learner": LEARNERS, "baseline": BASELINES}.get(
            f.name
        )
        parser.add_argument(flag, type=kind, choices=choices, help=f"({default})")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training (1)")
    parser.add_argument(
        "--scheduler",
        help="play self-play on the workers of a Dask cluster, given its scheduler's address "
        "(tcp://host:8786); by default, --jobs processes on this machine",
    )


def settings(args) -> dict:
    """The TrainConfig fields but board and komi: the defaults, then the recipe's, then the
    options given on the command line."""
    options = {f.name: getattr(TrainConfig(), f.name) for f in fields(TrainConfig)}
    if args.recipe is not None:
        if args.board not in RECIPES:
            boards = " and ".join(f"{n}x{n}" for n in RECIPES)
            raise SystemExit(
                f"error: the book has a recipe for {boards}, not {args.board}x{args.board}"
            )
        options.update(RECIPES[args.board])
    given = {
        f.name: getattr(args, f.name)
        for f in fields(TrainConfig)
        if f.name not in ("board", "komi")
    }
    options.update({name: value for name, value in given.items() if value is not None})
    del options["board"], options["komi"]
    return options


def main(args, argv: list[str]) -> int:
    """Run the command: build the config from `args`, train, report where the checkpoint is."""
    if not 2 <= args.board <= 19:
        raise SystemExit(f"error: board sizes are 2 to 19, not {args.board}")
    options = settings(args)
    komi = args.komi if args.komi is not None else DEFAULT_KOMI.get(args.board, 7.5)
    torch.set_num_threads(max(args.threads, 1))
    try:
        config = TrainConfig(**options, board=args.board, komi=komi)
        command = "python -m straw train " + " ".join(shlex.quote(a) for a in argv)
        if args.scheduler is None:
            record = train(config, args.run_dir, command=command)
        else:  # the games depend on --jobs, not on where they are played
            from distributed import Client

            try:
                client = Client(args.scheduler, timeout=30)
            except OSError as error:  # refused, unreachable, or no answer within the timeout
                raise SystemExit(f"error: no Dask scheduler at {args.scheduler}: {error}") from None
            with client:
                record = train(config, args.run_dir, dask_executor(client), command=command)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    print(json.dumps(record))
    return 0
