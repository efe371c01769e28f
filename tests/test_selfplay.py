"""Self-play: games replay legally, targets are distributions and results, workers agree."""

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
import torch

from straw.go import Position
from straw.nets import NetConfig, PolicyValueNet, encode, evaluator
from straw.selfplay import SelfPlayConfig, dask_executor, generate, play_games

torch.set_num_threads(1)  # tiny networks: a second thread only waits on the first

CONFIG = SelfPlayConfig(size=4, komi=0.5, simulations=6, temperature_moves=4)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return PolicyValueNet(NetConfig(size=4, blocks=1, channels=8)).eval()


@pytest.fixture(scope="module")
def batch(net):
    return play_games(evaluator(net), CONFIG, games=3, seed=1)


def test_every_game_replays_legally_to_its_end_and_its_score(batch):
    assert len(batch.moves) == len(batch.scores) == 3
    for moves, score in zip(batch.moves, batch.scores, strict=True):
        position = Position(4, 0.5, suicide_allowed=False)
        for move in moves:
            position = position.play(move)  # IllegalMove if self-play broke the rules
        assert position.is_terminal() or len(moves) == CONFIG.move_limit()
        assert position.score() == score


def test_targets_are_visit_distributions_over_legal_moves_and_results(batch):
    assert (
        len(batch.planes)
        == len(batch.policies)
        == len(batch.values)
        == sum(len(moves) for moves in batch.moves)
    )
    assert np.allclose(batch.policies.sum(axis=1), 1, atol=1e-6)
    for g, (moves, score) in enumerate(zip(batch.moves, batch.scores, strict=True)):
        policies, values = batch.policies[batch.game(g)], batch.values[batch.game(g)]
        assert len(policies) == len(values) == len(moves)
        position = Position(4, 0.5, suicide_allowed=False)
        for k, move in enumerate(moves):
            illegal = np.ones(17, bool)
            illegal[position.legal_actions()] = False
            assert policies[k][illegal].sum() == 0
            # the result, for the player to move: +1 if she went on to win
            assert values[k] == np.sign(score) * position.to_play
            position = position.play(move)


def test_self_play_is_reproducible_and_independent_of_the_executor(net):
    a = play_games(evaluator(net), CONFIG, games=2, seed=5)
    b = play_games(evaluator(net), CONFIG, games=2, seed=5)
    assert a.moves == b.moves
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(2) as two:
        c = generate(one, net, CONFIG, games=4, seed=3, jobs=2)
        d = generate(two, net, CONFIG, games=4, seed=3, jobs=2)
    assert c.moves == d.moves and np.array_equal(c.policies, d.policies)
    assert len(c.moves) == 4


def test_self_play_on_a_dask_cluster_equals_self_play_on_threads(net):
    # Worker processes that receive every job serialised, as a cluster's machines would: a
    # LocalCluster on loopback stands in for one (no network beyond this machine).
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        remote = generate(dask_executor(client), net, CONFIG, games=4, seed=3, jobs=2)
    with ThreadPoolExecutor(2) as here:
        local = generate(here, net, CONFIG, games=4, seed=3, jobs=2)
    assert remote.moves == local.moves and np.array_equal(remote.policies, local.policies)
    assert remote.cpu_seconds > 0


def test_score_weight_mixes_the_margin_into_the_value_target(net):
    config = SelfPlayConfig(size=4, komi=0.5, simulations=4, score_weight=0.5)
    batch = play_games(evaluator(net), config, games=1, seed=2)
    score = batch.scores[0]
    expected = 0.5 * np.sign(score) + 0.5 * score / 16  # for Black, who moves first
    assert batch.values[0] == pytest.approx(expected)


def test_resignation_is_counted_and_checked(net):
    config = SelfPlayConfig(
        size=4, komi=0.5, simulations=6, resign_threshold=0.0, resign_check_fraction=0.5
    )
    batch = play_games(evaluator(net), config, games=6, seed=0)
    # threshold 0 resigns at the first position a player thinks it is behind
    assert batch.resigned + batch.checked > 0
    assert batch.resigned + batch.checked <= 6 and 0 <= batch.wrong_resignations <= batch.checked
    assert len(batch.values) == sum(len(m) for m in batch.moves) + batch.resigned
    resigned = [g for g in range(6) if batch.lengths[g] == len(batch.moves[g]) + 1]
    assert len(resigned) == batch.resigned  # the others have a row per move
    assert all(batch.lengths[g] == len(batch.moves[g]) for g in range(6) if g not in resigned)
    rows = [batch.game(g) for g in range(6)]
    assert rows[0].start == 0 and rows[-1].stop == len(batch.values)
    assert all(a.stop == b.start for a, b in itertools.pairwise(rows))


def test_ownership_and_margin_targets_are_the_final_board_from_the_movers_view(batch):
    for g, moves in enumerate(batch.moves):
        final = Position(4, 0.5, suicide_allowed=False)
        for move in moves:
            final = final.play(move)
        black_owner = np.array(final.ownership())
        rows = batch.game(g)
        position = Position(4, 0.5, suicide_allowed=False)
        for k, move in enumerate(moves):
            assert np.array_equal(batch.ownership[rows][k], black_owner * position.to_play)
            assert batch.margins[rows][k] == np.float32(final.score() / 16 * position.to_play)
            position = position.play(move)


def test_playout_cap_randomization_records_only_the_full_searches(net):
    config = replace(CONFIG, simulations=8, fast_simulations=2, full_search_probability=0.25)
    batch = play_games(evaluator(net), config, games=4, seed=0)
    moves = sum(len(m) for m in batch.moves)
    assert len(batch.values) == sum(batch.lengths) == sum(len(r) for r in batch.recorded)
    assert 0 < len(batch.values) < moves / 2  # about a quarter of the moves are rows
    assert 2 * moves < batch.simulations < 8 * moves
    for g, moves_g in enumerate(batch.moves):
        positions = [Position(4, 0.5, suicide_allowed=False)]
        for move in moves_g[:-1]:
            positions.append(positions[-1].play(move))
        recorded = [positions[k] for k in batch.recorded[g]]
        assert np.array_equal(batch.planes[batch.game(g)], encode(recorded))
    # a game may end before any of its moves is searched in full: it gives no rows
    rare = play_games(evaluator(net), replace(config, full_search_probability=0.01), 4, seed=0)
    assert len(rare.values) == sum(rare.lengths) < 4 and len(rare.planes) == len(rare.ownership)
    full = play_games(evaluator(net), replace(config, fast_simulations=0), games=4, seed=0)
    assert full.lengths == [len(m) for m in full.moves]


def test_gumbel_self_play_keeps_the_rules_and_trains_on_its_improved_policy(net):
    config = replace(CONFIG, search="gumbel", simulations=6, num_considered=4)
    batch = play_games(evaluator(net), config, games=3, seed=1)
    assert np.allclose(batch.policies.sum(axis=1), 1, atol=1e-5)
    for g, moves in enumerate(batch.moves):
        position = Position(4, 0.5, suicide_allowed=False)
        for k, move in enumerate(moves):
            target = batch.policies[batch.game(g)][k]
            illegal = np.ones(17, bool)
            illegal[position.legal_actions()] = False
            assert target[illegal].sum() == 0
            # every legal action keeps some of the prior's mass, visited or not
            assert (target[~illegal] > 0).all()
            position = position.play(move)
        assert position.is_terminal() or len(moves) == config.move_limit()


def test_gumbel_c_scale_sets_how_far_the_target_moves_from_the_prior(net):
    """With c_scale 0 the search's values count for nothing: the target is the prior."""
    config = replace(CONFIG, search="gumbel", simulations=6, num_considered=4, c_scale=0.0)
    batch = play_games(evaluator(net), config, games=2, seed=1)
    position = Position(4, 0.5, suicide_allowed=False)
    for k, move in enumerate(batch.moves[0]):
        prior = np.zeros(17)
        legal = position.legal_actions()
        prior[legal] = evaluator(net)([position])[0][0][legal]
        assert np.allclose(batch.policies[batch.game(0)][k], prior / prior.sum(), atol=1e-5)
        position = position.play(move)
    sharp = play_games(evaluator(net), replace(config, c_scale=1.0), games=2, seed=1)
    rows = len(batch.moves[0])
    assert not np.allclose(sharp.policies[:rows], batch.policies[:rows])


def test_bad_self_play_settings_are_refused():
    with pytest.raises(ValueError, match="search is"):
        SelfPlayConfig(search="alphabeta")
    with pytest.raises(ValueError, match="fast_simulations"):
        SelfPlayConfig(simulations=8, fast_simulations=9)
    with pytest.raises(ValueError, match="full_search_probability"):
        SelfPlayConfig(full_search_probability=0)
