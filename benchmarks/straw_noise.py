"""The learning signal's noise on Go: the search's target for every move against the game's one
result spread over all its moves, per position and per game, on boards of growing length.

For each network given, its raw policy plays `--games` games against itself (the positions and
moves a policy gradient would learn from, `straw.outcome_rl.play_policy_games`), every position
of them is searched (PUCT, `--simulations`, no root noise, the search of the network's own
training), and three per-position gradients are taken (`straw.outcome_rl.per_position_gradients`):

    distill     sum_a pi_search(a | s) grad log p(a | s)   the AlphaZero loss's policy term
    reinforce   z grad log p(a | s)                        the move played, the game's result
    critic      (z - v(s)) grad log p(a | s)               the same, less the value head's guess

z is the game's result for the player to move, valued as the network's value head learned it
(`straw.go.utility` with its score weight). For each it reports, per position and per game (the
sum of a game's rows, one trajectory's whole contribution): the trace of the covariance tr S,
the squared norm of the mean |G|^2 (estimated without bias, tr S / n taken off), the noise scale
B = tr S / |G|^2 (McCandlish et al. 2018: the batch size above which more samples stop paying),
and the cosines between the three mean gradients. For the value target: the mean square of
z - v(s), and its intraclass correlation among the positions of a game (how much of it is one
draw shared by the whole game).

    python benchmarks/straw_noise.py checkpoints/3x3/network.safetensors \\
        checkpoints/5x5/network.safetensors checkpoints/7x7-gumbel/network.safetensors \\
        --games 128 --simulations 64 --out checkpoints/5x5-straw/noise.json
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from timing import command_and_machine

from straw import mcts, nets, outcome_rl
from straw.go import Position
from straw.policy_gradients import gradient_stats
from straw.selfplay import SelfPlayConfig


def measure(path: str, games: int, simulations: int, seed: int) -> dict:
    net, meta = nets.load_network(path)
    net.eval()
    size, komi = meta["board_size"], meta["komi"]
    score_weight = meta.get("train_config", {}).get("score_weight", 0.0)
    config = SelfPlayConfig(size=size, komi=komi, score_weight=score_weight)
    evaluate = nets.evaluator(net)
    played = outcome_rl.play_policy_games(evaluate, config, games, seed)
    states = positions_of(played, config)
    utility = partial(Position.utility, score_weight=score_weight)
    search = mcts.SearchConfig(rule=mcts.PUCT(), utility=utility)
    outputs = mcts.search_batched(states, evaluate, simulations, [search] * len(states))
    search_targets = np.array([out.action_weights for out in outputs])

    z = played.rows.values.astype(float)
    move = np.zeros(played.legal.shape)
    rows = np.arange(len(z))
    targets = {"distill": search_targets}
    for name, c in (("reinforce", z), ("critic", z - played.predicted_values)):
        targets[name] = move.copy()
        targets[name][rows, played.actions] = c
    report: dict = {
        "network": path,
        "board": size,
        "games": games,
        "positions": len(z),
        "mean_game_length": round(len(z) / games, 2),
    }
    means = {}
    for name, target in targets.items():
        position, game, means[name] = moments(net, played, target)
        report[f"{name}_position"], report[f"{name}_game"] = position, game
    for a, b in (("distill", "reinforce"), ("distill", "critic"), ("reinforce", "critic")):
        cosine = torch.nn.functional.cosine_similarity(means[a], means[b], dim=0)
        report[f"cosine_{a}_{b}"] = round(float(cosine), 4)
    residual = z - played.predicted_values
    rho = outcome_rl.intraclass_correlation(residual, played.game_of_row())
    report["value_residual_mean_square"] = round(float(np.mean(residual**2)), 4)
    report["value_residual_icc"] = round(rho, 4)
    return report


def moments(net, played: outcome_rl.PolicyGames, targets: np.ndarray, rows: int = 2048):
    """The noise of one signal per position and per game, from per-position gradients taken
    `rows` at a time (all of them at once would not fit in memory on 7x7): the per-position
    trace and squared norm from running sums, the per-game ones from the games' summed rows.
    Returns the two reports and the mean gradient per game."""
    n = len(targets)
    total = sum_of_squares = None
    summed = None
    index = torch.from_numpy(played.game_of_row())
    for start in range(0, n, rows):
        part = slice(start, start + rows)
        grads = outcome_rl.per_position_gradients(
            net, played.rows.planes[part], played.legal[part], targets[part]
        ).double()
        if total is None:
            total = torch.zeros(grads.shape[1], dtype=torch.float64)
            sum_of_squares = 0.0
            summed = torch.zeros(played.games(), grads.shape[1], dtype=torch.float64)
        total += grads.sum(0)
        sum_of_squares += float((grads**2).sum())
        summed.index_add_(0, index[part], grads)
    mean = total / n
    trace = (sum_of_squares - n * float(mean @ mean)) / (n - 1)
    per_position = noise(trace, float(mean @ mean) - trace / n)
    stats = gradient_stats(summed)
    return per_position, noise(stats.trace, stats.squared_norm), stats.mean


def noise(trace: float, squared_norm: float) -> dict:
    """The trace, the (unbiased) squared norm of the mean, and the noise scale, to 4 figures."""
    return {
        "trace": float(f"{trace:.4g}"),
        "squared_norm": float(f"{squared_norm:.4g}"),
        "noise_scale": float(f"{trace / squared_norm:.4g}") if squared_norm > 0 else None,
    }


def positions_of(played: outcome_rl.PolicyGames, config: SelfPlayConfig) -> list[Position]:
    """Every position of the games, in row order, replayed from their moves."""
    states = []
    for moves in played.rows.moves:
        position = Position(config.size, config.komi, config.suicide_allowed)
        for action in moves:
            states.append(position)
            position = position.play(action)
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="+", help="network files (.safetensors)")
    parser.add_argument("--games", type=int, default=128, help="games of each raw policy")
    parser.add_argument("--simulations", type=int, default=64, help="search per position")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)
    command = command_and_machine()
    reports = []
    for path in args.networks:
        started = time.process_time()
        report = measure(path, args.games, args.simulations, args.seed)
        reports.append(report)
        print(json.dumps(report), f"[{time.process_time() - started:.0f} s]", flush=True)
    if args.out:
        summary = {"command": command, "simulations": args.simulations, "results": reports}
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
