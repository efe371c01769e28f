"""Go through the straw: the estimator is the gradient (checked against every game of a tiny
Go), the baselines keep it so, a killed run resumes to the same end, bad settings are refused."""

import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from straw.go import Position, utility
from straw.nets import NetConfig, PolicyValueNet, evaluator
from straw.outcome_rl import (
    MASKED,
    advantages,
    every_game,
    exact_gradient,
    intraclass_correlation,
    legal_log_policy,
    per_position_gradients,
    pg_loss_terms,
    play_policy_games,
    policy_games,
)
from straw.selfplay import SelfPlayConfig
from straw.train import TrainConfig, read_log

torch.set_num_threads(1)

# 2x2 Go stopped after three moves: 5 actions at most a move, a few dozen games in all.
TINY_GO = SelfPlayConfig(size=2, komi=0.5, max_moves=3, score_weight=0.5)


def tiny_net() -> PolicyValueNet:
    torch.manual_seed(3)
    net = PolicyValueNet(NetConfig(size=2, blocks=1, channels=4, value_hidden=4))
    with torch.no_grad():  # a policy far from uniform, so that the gradient has a direction
        net.policy_fc.weight.mul_(20)
    return net.eval()


def as_policy_games(games, config=TINY_GO):
    """Every enumerated game once, as the learner's rows."""
    history, actions, legal, values, final = [], [], [], [], []
    for moves, _ in games:
        position, positions, masks = Position(config.size, config.komi, False), [], []
        for action in moves:
            mask = np.zeros(config.size**2 + 1, dtype=bool)
            mask[position.legal_actions()] = True
            positions.append(position)
            masks.append(mask)
            position = position.play(action)
        history.append(positions)
        actions.append(moves)
        legal.append(masks)
        values.append([0.0] * len(moves))
        final.append(position)
    return policy_games(history, actions, legal, values, final, config)


def flat_grad(net) -> torch.Tensor:
    return torch.cat(
        [torch.zeros(p.numel()) if p.grad is None else p.grad.reshape(-1) for p in net.parameters()]
    )


def estimator_gradient(net, games, c) -> torch.Tensor:
    """-grad of the surrogate: (1/games) sum_rows c grad log pi(a | s)."""
    net.zero_grad()
    (-pg_loss_terms(net, games, c, entropy_weight=0.0, weight_decay=0.0)["policy_loss"]).backward()
    return flat_grad(net).double()


def test_the_estimator_weighted_by_each_games_probability_is_the_exact_gradient():
    net = tiny_net()
    exact = exact_gradient(net, TINY_GO)
    enumerated = every_game(net, TINY_GO)
    probabilities = [p for _, p in enumerated]
    games = as_policy_games(enumerated)
    assert 20 < games.games() < 200 and sum(probabilities) == pytest.approx(1)
    c = advantages(games, "none", 1)  # z for the player to move
    # E[g] = sum_games p(game) g(game): weight each game's rows by games * p(game)
    c = c * games.games() * np.repeat(probabilities, games.rows.lengths)
    assert torch.allclose(estimator_gradient(net, games, c), exact, rtol=1e-4, atol=1e-7)
    assert exact.norm() > 0.05  # not a trivial zero


@pytest.mark.parametrize("baseline", ["none", "rloo", "critic"])
def test_sampled_games_estimate_the_exact_gradient(baseline):
    """The mean over 8,192 sampled games is within a few standard errors of the exact gradient,
    for REINFORCE and for both baselines (neither biases it); with Black's and White's signs
    swapped, or no legal-move mask, it would point elsewhere."""
    net = tiny_net()
    exact = exact_gradient(net, TINY_GO)
    games = play_policy_games(evaluator(net), TINY_GO, 8192, seed=1)
    c = advantages(games, baseline, 8, games.predicted_values)
    estimate = estimator_gradient(net, games, c)
    assert torch.nn.functional.cosine_similarity(estimate, exact, dim=0) > 0.98
    assert (estimate - exact).norm() < 0.15 * exact.norm()


def test_the_sampled_moves_follow_the_policy_over_the_legal_moves():
    net = tiny_net()
    games = play_policy_games(evaluator(net), TINY_GO, 4000, seed=0)
    first = games.actions[np.cumsum([0, *games.rows.lengths[:-1]])]  # every game's first move
    legal, log_pi = legal_log_policy(net, Position(2, 0.5, False))
    counts = np.bincount(first, minlength=5)[legal]
    p = log_pi.exp().detach().double().numpy()
    expected = p / p.sum() * len(first)
    assert chisquare(counts, expected).pvalue > 1e-3
    assert np.all(games.legal[np.arange(len(games.actions)), games.actions])


def test_the_baselines_weigh_each_move_for_the_player_who_made_it():
    net = tiny_net()
    games = play_policy_games(evaluator(net), TINY_GO, 16, seed=2)
    z = games.rows.values.astype(float)  # the result for the player to move
    assert np.array_equal(advantages(games, "none", 1), z)
    assert np.allclose(
        advantages(games, "critic", 1, games.predicted_values), z - games.predicted_values
    )
    rloo = advantages(games, "rloo", 4)
    black = np.array([utility(s, 2, 0.5) for s in games.rows.scores])
    others = (black.reshape(4, 4).sum(1, keepdims=True) - black.reshape(4, 4)) / 3
    expected = (black.reshape(4, 4) - others).reshape(-1)[games.game_of_row()] * games.to_play()
    assert np.allclose(rloo, expected)
    with pytest.raises(ValueError, match="baseline must be one of"):
        advantages(games, "mean", 4)
    with pytest.raises(ValueError, match="needs the network's values"):
        advantages(games, "critic", 1)
    with pytest.raises(ValueError, match="groups of 3"):
        advantages(games, "rloo", 3)


def test_illegal_moves_get_no_probability_and_no_entropy():
    net = tiny_net()
    games = play_policy_games(evaluator(net), TINY_GO, 8, seed=0)
    terms = pg_loss_terms(net, games, advantages(games, "none", 1), 0.1, 1e-4)
    assert all(torch.isfinite(v) for v in terms.values())
    n_legal = games.legal.sum(1)
    assert 0 < terms["entropy"] <= np.log(n_legal).mean() + 1e-6
    assert MASKED < -1e6


TINY_PG = TrainConfig(
    board=4,
    komi=0.5,
    blocks=1,
    channels=8,
    iterations=3,
    games_per_iteration=16,
    steps_per_iteration=2,
    eval_games=2,
    learner="pg",
    baseline="rloo",
    group_size=4,
    entropy_weight=0.01,
    score_weight=0.5,
)


def test_a_pg_run_learns_and_logs_as_the_alphazero_loop(tmp_path):
    from straw.train import train

    record = train(TINY_PG, tmp_path, progress=False)
    assert record["iteration"] == 3 and record["games"] == 16 and record["step"] == 6
    assert {"policy_loss", "value_loss", "entropy", "cpu_seconds_total"} <= record.keys()
    assert (tmp_path / "nets" / "iter_0003.safetensors").exists()
    stopped = train(
        replace(TINY_PG, iterations=50, cpu_budget=0.01), tmp_path / "b", progress=False
    )
    assert stopped["iteration"] == 1  # the first iteration passes the budget


def train_command(run_dir, iterations):
    return [
        sys.executable, "-m", "straw", "train", "--board", "4", "--komi", "0.5",
        "--blocks", "1", "--channels", "8", "--iterations", str(iterations),
        "--games-per-iteration", "16", "--steps-per-iteration", "2", "--eval-games", "2",
        "--learner", "pg", "--baseline", "rloo", "--group-size", "4",
        "--run-dir", str(run_dir),
    ]  # fmt: skip


def test_a_run_killed_mid_iteration_resumes_to_the_uninterrupted_end(tmp_path):
    subprocess.run(train_command(tmp_path / "whole", 6), check=True, capture_output=True)
    killed = subprocess.Popen(train_command(tmp_path / "killed", 6), stderr=subprocess.DEVNULL)
    log = tmp_path / "killed" / "log.jsonl"
    while not (log.exists() and len(log.read_text().splitlines()) >= 2):
        time.sleep(0.05)
    killed.kill()  # SIGKILL: no clean-up runs
    killed.wait()
    subprocess.run(train_command(tmp_path / "killed", 6), check=True, capture_output=True)
    whole, resumed = read_log(tmp_path / "whole"), read_log(tmp_path / "killed")
    assert [r["iteration"] for r in resumed] == list(range(1, 7))
    assert [r["loss"] for r in resumed] == [r["loss"] for r in whole]


def test_bad_pg_settings_are_refused():
    with pytest.raises(ValueError, match="learner must be one of"):
        replace(TINY_PG, learner="ppo")
    with pytest.raises(ValueError, match="baseline must be one of"):
        replace(TINY_PG, baseline="mean")
    with pytest.raises(ValueError, match="equal batches"):
        replace(TINY_PG, games_per_iteration=15)
    with pytest.raises(ValueError, match="groups of 2 or more"):
        replace(TINY_PG, group_size=3)
    with pytest.raises(ValueError, match="policy and value heads only"):
        replace(TINY_PG, auxiliary=True)
    with pytest.raises(ValueError, match="must be positive"):
        replace(TINY_PG, entropy_weight=-0.1)


def test_the_command_line_refuses_a_learner_it_does_not_know(capsys, tmp_path):
    from straw.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--board", "5", "--run-dir", str(tmp_path), "--learner", "ppo"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="groups of 2 or more"):
        main(["train", "--board", "5", "--run-dir", str(tmp_path), "--learner", "pg",
              "--steps-per-iteration", "4", "--baseline", "rloo", "--group-size", "5"])  # fmt: skip


def test_per_position_gradients_sum_to_the_estimator():
    net = tiny_net()
    games = play_policy_games(evaluator(net), TINY_GO, 32, seed=4)
    c = advantages(games, "rloo", 8)
    targets = np.zeros(games.legal.shape)
    targets[np.arange(len(c)), games.actions] = c
    rows = per_position_gradients(net, games.rows.planes, games.legal, targets).double()
    assert rows.shape == (len(c), sum(p.numel() for p in net.parameters()))
    summed = rows.sum(0) / games.games()
    assert torch.allclose(summed, estimator_gradient(net, games, c), rtol=1e-4, atol=1e-6)


def test_the_intraclass_correlation_of_games_that_share_one_draw():
    """Residuals that are a game's shared draw (variance 1) plus a position's own (variance 3):
    a quarter of the variance lies between games."""
    rng = np.random.default_rng(0)
    sizes = rng.integers(5, 40, size=2000)
    groups = np.repeat(np.arange(len(sizes)), sizes)
    values = rng.normal(size=len(sizes))[groups] + rng.normal(scale=np.sqrt(3), size=len(groups))
    assert intraclass_correlation(values, groups) == pytest.approx(0.25, abs=0.02)
    assert abs(intraclass_correlation(rng.normal(size=len(groups)), groups)) < 0.02
