"""Gumbel root search: the halving schedule, completed Q-values, and the target it trains on."""

import numpy as np
import pytest
from small_games import Nim  # take 1-3 stones, the last stone wins

from straw import gumbel, mcts
from straw.tokens import CombinationLock


def peaked_prior(vocab, favourite, mass):
    """`mass` on one token, the rest spread evenly."""
    prior = np.full(vocab, (1 - mass) / (vocab - 1))
    prior[favourite] = mass
    return prior


def prior_evaluator(prior):
    def evaluate(states):
        return np.tile(prior, (len(states), 1)), np.zeros(len(states))

    return evaluate


def test_sequential_halving_schedule():
    # 4 actions, 8 simulations: two phases; all four once, then the best two twice more each
    assert gumbel.considered_visits(4, 8) == [0, 0, 0, 0, 1, 1, 2, 2]
    assert gumbel.considered_visits(1, 3) == [0, 1, 2]
    schedule = gumbel.considered_visits(16, 63)
    assert len(schedule) == 63 and schedule[:16] == [0] * 16
    assert schedule == sorted(schedule)  # a phase never revisits an earlier visit count
    with pytest.raises(ValueError, match="num_considered"):
        gumbel.considered_visits(0, 5)


def test_completed_q_fills_unvisited_actions_with_the_mixed_value():
    q = np.array([1.0, 0.0, 0.0, 0.0])
    visits = np.array([2.0, 1.0, 0.0, 0.0])
    prior = np.array([0.1, 0.3, 0.4, 0.2])
    completed = gumbel.completed_q(q, visits, prior, value=0.5)
    weighted = (0.1 * 1.0 + 0.3 * 0.0) / 0.4  # prior-weighted value of the visited actions
    v_mix = (0.5 + 3 * weighted) / 4
    np.testing.assert_allclose(completed, [1.0, 0.0, v_mix, v_mix])
    nothing = gumbel.completed_q(q, np.zeros(4), prior, value=0.3)
    np.testing.assert_allclose(nothing, [0.3] * 4)


def test_target_improves_on_the_prior_in_its_own_completed_values():
    """softmax(logits + sigma(q)) puts more weight on high q than the prior does, for any
    monotone sigma: sum pi' q >= sum P q (Danihelka et al. 2022)."""
    rng = np.random.default_rng(0)
    config = gumbel.GumbelConfig()
    for _ in range(200):
        n = int(rng.integers(2, 30))
        prior = rng.dirichlet(np.ones(n) * 0.5)
        q = rng.random(n)
        visits = rng.integers(0, 5, size=n).astype(float)
        z = np.log(prior) + gumbel.sigma(q, visits, config)
        target = np.exp(z - z.max())
        target /= target.sum()
        assert target @ q >= prior @ q - 1e-12


def test_a_search_that_learns_nothing_returns_the_prior():
    """A combination lock whose first token is never right in the searched part: every value
    seen is 0, so the target is the prior unchanged (PUCT's target would drop the mass of every
    unvisited token)."""
    lock = CombinationLock(vocab=64, length=1, secret=(63,))
    prior = peaked_prior(64, favourite=0, mass=0.3)
    prior[63] = 1e-6
    prior /= prior.sum()
    tree = mcts.run(gumbel.GumbelTree(lock.game(), 20), prior_evaluator(prior), 20)
    assert tree.visit_counts()[63] == 0
    np.testing.assert_allclose(tree.improved_policy(), prior, atol=1e-12)
    puct = mcts.run(mcts.Tree(lock.game()), prior_evaluator(prior), 20)
    assert (puct.improved_policy() > 0).sum() < 20


def test_a_found_secret_takes_almost_all_the_mass():
    lock = CombinationLock(vocab=32, length=1, secret=(5,))
    prior = peaked_prior(32, favourite=5, mass=0.2)
    tree = mcts.run(gumbel.GumbelTree(lock.game(), 33), prior_evaluator(prior), 33)
    assert tree.visit_counts()[5] > 0
    target = tree.improved_policy()
    assert target[5] > 0.99 and abs(target.sum() - 1) < 1e-12
    assert tree.best_action() == 5
    assert tree.improved_policy(temperature=0)[5] == 1


def test_halving_spends_the_simulations_on_the_considered_actions():
    lock = CombinationLock(vocab=100, length=2, secret=(1, 2))
    prior = np.full(100, 0.01)
    config = gumbel.GumbelConfig(num_considered=8, seed=3)
    tree = mcts.run(gumbel.GumbelTree(lock.game(), 49, config), prior_evaluator(prior), 49)
    counts = tree.visit_counts()
    assert counts.sum() == 48 and (counts > 0).sum() == 8
    # 8 actions twice each, the best 4 four more times, the best 2 eight more
    assert sorted(counts[counts > 0].tolist()) == [2, 2, 2, 2, 6, 6, 14, 14]


def test_two_player_values_keep_their_sign():
    for stones in (5, 6, 7):
        tree = mcts.run(gumbel.GumbelTree(Nim(stones), 200), mcts.rollout_evaluator(seed=0), 200)
        assert tree.best_action() == stones % 4 - 1


def test_batched_search_equals_one_tree_at_a_time():
    lock = CombinationLock(vocab=16, length=2, seed=1)
    evaluate = prior_evaluator(np.full(16, 1 / 16))
    trees = [gumbel.GumbelTree(lock.game(), 30, gumbel.GumbelConfig(seed=s)) for s in (0, 1)]
    mcts.run_batched(trees, evaluate, 30)
    for seed, tree in zip((0, 1), trees, strict=True):
        alone = mcts.run(
            gumbel.GumbelTree(lock.game(), 30, gumbel.GumbelConfig(seed=seed)), evaluate, 30
        )
        np.testing.assert_array_equal(tree.visit_counts(), alone.visit_counts())


def test_bad_use_is_refused_with_a_reason():
    lock = CombinationLock(vocab=4, length=1, secret=(0,))
    with pytest.raises(ValueError, match="finished game"):
        gumbel.GumbelTree(lock.game().play(0), 4)
    tree = gumbel.GumbelTree(lock.game(), 4)
    with pytest.raises(ValueError, match="no simulations"):
        tree.improved_policy()
    mcts.run(tree, mcts.uniform_evaluator, 4)
    with pytest.raises(ValueError, match="built for 4 simulations"):
        mcts.run(tree, mcts.uniform_evaluator, 1)
    with pytest.raises(ValueError, match="temperature"):
        tree.improved_policy(temperature=0.5)
    with pytest.raises(NotImplementedError):
        tree.advance(0)


def test_without_gumbel_noise_the_halving_starts_from_the_prior_top_actions():
    """gumbel_scale 0, as at play time: the considered actions are the prior's top k, whatever
    the seed, and the search is the same search for every seed."""
    lock = CombinationLock(vocab=32, length=1, secret=(31,))
    prior = np.linspace(1, 2, 32)
    prior /= prior.sum()  # the top 4 are the last four tokens
    searched = []
    for seed in range(3):
        config = gumbel.GumbelConfig(num_considered=4, gumbel_scale=0.0, seed=seed)
        tree = mcts.run(config.new_tree(lock.game(), 9), prior_evaluator(prior), 9)
        assert set(np.flatnonzero(tree.visit_counts())) == {28, 29, 30, 31}
        searched.append((tree.best_action(), tuple(tree.visit_counts())))
    assert searched[0][0] == 31 and len(set(searched)) == 1
