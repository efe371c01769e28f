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
and the cosines between the three mean gradients. For the value target: the intraclass
correlation of z - v(s) among the positions of a game, and the number of independent targets a
game of mean length m is worth, m / (1 + (m - 1) rho).

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
        grads = outcome_rl.per_position_gradients(net, played, target)
        for unit, sample in (("position", grads), ("game", outcome_rl.per_game(grads, played))):
            stats = gradient_stats(sample)
            report[f"{name}_{unit}"] = {
                "trace": float(f"{stats.trace:.4g}"),
                "squared_norm": float(f"{stats.squared_norm:.4g}"),
                "noise_scale": float(f"{stats.noise_scale:.4g}")
                if stats.squared_norm > 0
                else None,
            }
            if unit == "game":
                means[name] = stats.mean
        del grads
    for a, b in (("distill", "reinforce"), ("distill", "critic"), ("reinforce", "critic")):
        cosine = torch.nn.functional.cosine_similarity(means[a], means[b], dim=0)
        report[f"cosine_{a}_{b}"] = round(float(cosine), 4)
    residual = z - played.predicted_values
    rho = outcome_rl.intraclass_correlation(residual, played.game_of_row())
    m = len(z) / games
    report["value_residual_icc"] = round(rho, 4)
    report["independent_value_targets_per_game"] = round(m / (1 + (m - 1) * rho), 2)
    return report


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
