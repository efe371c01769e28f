"""REINFORCE estimators checked against closed forms, finite differences and Monte Carlo.

Every exact number here is a sum over all V^T sequences (`enumerate_sequences`), so the tests
compare exact quantities to exact quantities, except the Monte Carlo test, whose tolerance comes
from its own standard errors.
"""

import dataclasses

import numpy as np
import pytest
import sympy as sp

from straw import estimators as est

SHAPES = [(2, 2), (2, 5), (3, 4), (4, 3), (5, 2)]  # (V, T)


def uniform_policy(vocab, length):
    return est.per_position(np.zeros((length, vocab)))


def random_policies(vocab, length, seed):
    """The three policy families of the book, each with seeded random logits."""
    rng = np.random.default_rng(seed)
    return [
        est.per_position(rng.standard_normal((length, vocab))),
        est.prefix_tree(vocab, length, seed=seed + 1),
        est.bigram(vocab, length, seed=seed + 2),
    ]


def causal_random_rewards(vocab, length, seed, shift=0.0):
    """A reward function r_t = f_t(y_1..y_t) with f_t drawn at random, one value per prefix.

    r_t may depend on the tokens so far but never on later ones, as a per-token reward must for
    reward-to-go to be unbiased.
    """
    rng = np.random.default_rng(seed)
    tables = [shift + rng.standard_normal(vocab ** (t + 1)) for t in range(length)]

    def reward_fn(sequences):
        rewards = np.empty(sequences.shape)
        for t in range(length):
            prefix_code = sequences[:, : t + 1] @ vocab ** np.arange(t, -1, -1)
            rewards[:, t] = tables[t][prefix_code]
        return rewards

    return reward_fn


def with_logits(policy, logits):
    return dataclasses.replace(policy, logits=logits)


def direct_trace(enum, weights):
    """tr Cov(g) = E||g||^2 - ||E g||^2 from the dense gradient of every sequence."""
    grads = est.tabular_gradients(enum.policy, enum.sequences, weights)
    mean = enum.expect(grads)
    return enum.expect((grads**2).sum(axis=1)) - mean @ mean


# ----------------------------------------------------------------------------------------------
# Enumeration and the three policies' logits rows.


def test_sequences_are_listed_in_base_v_and_probabilities_sum_to_one():
    enum = est.enumerate_sequences(uniform_policy(vocab=2, length=2))
    assert enum.sequences.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    np.testing.assert_allclose(enum.prob, [0.25, 0.25, 0.25, 0.25])
    for policy in random_policies(vocab=3, length=3, seed=0):
        assert est.enumerate_sequences(policy).prob.sum() == pytest.approx(1.0, abs=1e-12)


def test_prefix_tree_gives_every_prefix_its_own_row():
    vocab, length = 3, 3
    policy = est.prefix_tree(vocab, length)
    enum = est.enumerate_sequences(policy)
    rows = policy.rows(enum.sequences)
    row_of_prefix = {}
    for sequence, sequence_rows in zip(enum.sequences, rows, strict=True):
        for t in range(length):
            prefix = tuple(sequence[:t])
            assert row_of_prefix.setdefault(prefix, sequence_rows[t]) == sequence_rows[t]
    # 1 + 3 + 9 prefixes, 13 rows: distinct prefixes get distinct rows and every row is used.
    assert sorted(row_of_prefix.values()) == list(range(policy.logits.shape[0]))
    assert row_of_prefix[()] == 0
    assert [row_of_prefix[(y,)] for y in range(vocab)] == [1, 2, 3]


def test_bigram_rows_are_start_then_previous_token():
    vocab = 3
    policy = est.bigram(vocab, 4)
    enum = est.enumerate_sequences(policy)
    rows = policy.rows(enum.sequences)
    assert (rows[:, 0] == vocab).all()
    np.testing.assert_array_equal(rows[:, 1:], enum.sequences[:, :-1])


# ----------------------------------------------------------------------------------------------
# Closed forms on the uniform per-position policy. Every score has ||S_t||^2 = 1 - 1/V and
# scores of different positions are orthogonal (different rows).


@pytest.mark.parametrize("vocab, length", SHAPES)
def test_single_step_trace_is_t_cubed_under_a_constant_reward(vocab, length):
    c = 1.5  # R = T c for every sequence, so g = T c sum_t S_t
    enum = est.enumerate_sequences(uniform_policy(vocab, length))
    rewards = np.full(enum.sequences.shape, c)
    trace = est.exact_moments(enum, est.single_step_weights(rewards)).trace
    assert trace == pytest.approx(length**3 * c**2 * (1 - 1 / vocab), rel=1e-12)


@pytest.mark.parametrize("vocab, length", SHAPES)
def test_reward_to_go_trace_is_a_sum_of_squares_under_a_constant_reward(vocab, length):
    c = 1.5  # G_t = (T - t + 1) c, so the trace is c^2 (1 - 1/V) (1^2 + ... + T^2)
    enum = est.enumerate_sequences(uniform_policy(vocab, length))
    rewards = np.full(enum.sequences.shape, c)
    trace = est.exact_moments(enum, est.multi_step_weights(rewards)).trace
    sum_of_squares = length * (length + 1) * (2 * length + 1) / 6
    assert trace == pytest.approx(c**2 * (1 - 1 / vocab) * sum_of_squares, rel=1e-12)


@pytest.mark.parametrize("vocab, length", SHAPES)
def test_single_step_trace_under_a_correctness_reward(vocab, length):
    # r_t = [y_t == target_t], each hit with probability q = 1/V, so R ~ Binomial(T, q):
    #   E||g||^2 = (1 - q) T E[R^2] = (1 - q) T (T q (1 - q) + T^2 q^2)
    #   ||E g||^2 = T ||q (onehot(target) - u)||^2 = T q^2 (1 - q)
    # With b = E[R] = T q, E[(R - b)^2] = T q (1 - q) and the mean is unchanged.
    q = 1 / vocab
    enum = est.enumerate_sequences(uniform_policy(vocab, length))
    target = np.arange(length) % vocab
    rewards = (enum.sequences == target).astype(float)
    no_baseline = est.exact_moments(enum, est.single_step_weights(rewards)).trace
    mean_baseline = est.exact_moments(enum, est.single_step_weights(rewards, length * q)).trace
    T = length
    assert no_baseline == pytest.approx(
        (1 - q) * (T**2 * q * (1 - q) + T**3 * q**2 - T * q**2), rel=1e-12
    )
    assert mean_baseline == pytest.approx((1 - q) * (T**2 * q * (1 - q) - T * q**2), rel=1e-12)


def test_errata_counterexample_reward_to_go_has_the_larger_trace():
    # T = V = 2, uniform; r_1 = -1, r_2 = 10 [y_2 == 1]. By hand: ||S_t||^2 = 1/2,
    # ||E g||^2 = ||5 (onehot(1) - u)||^2 = 12.5 for both estimators;
    # single-step E||g||^2 = E[R^2] = (1 + 81) / 2 = 41, trace 28.5;
    # multi-step E||g||^2 = E[R^2] / 2 + E[(10 r)^2] / 2 = 20.5 + 25 = 45.5, trace 33.
    enum = est.enumerate_sequences(uniform_policy(vocab=2, length=2))
    rewards = np.stack([-np.ones(4), 10.0 * (enum.sequences[:, 1] == 1)], axis=1)
    single = est.exact_moments(enum, est.single_step_weights(rewards))
    multi = est.exact_moments(enum, est.multi_step_weights(rewards))
    assert single.trace == pytest.approx(28.5, abs=1e-12)
    assert multi.trace == pytest.approx(33.0, abs=1e-12)
    np.testing.assert_allclose(single.mean, multi.mean, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Means: both estimators are unbiased for grad J.


@pytest.mark.parametrize(
    "policy", random_policies(vocab=3, length=3, seed=10), ids=lambda p: p.name
)
def test_single_and_multi_step_are_unbiased_against_finite_differences(policy):
    reward_fn = causal_random_rewards(policy.vocab, policy.length, seed=11)
    enum = est.enumerate_sequences(policy)
    rewards = reward_fn(enum.sequences)  # enumeration order is the same for every logits

    def expected_return(logits):
        return est.expected_return(est.enumerate_sequences(with_logits(policy, logits)), rewards)

    h = 1e-5
    finite_difference = np.zeros_like(policy.logits)
    for index in np.ndindex(policy.logits.shape):
        step = np.zeros_like(policy.logits)
        step[index] = h
        finite_difference[index] = (
            expected_return(policy.logits + step) - expected_return(policy.logits - step)
        ) / (2 * h)

    assert np.abs(finite_difference).max() > 0.01  # a gradient worth matching
    single = est.exact_moments(enum, est.single_step_weights(rewards)).mean
    multi = est.exact_moments(enum, est.multi_step_weights(rewards)).mean
    past = est.exact_moments(enum, est.past_rewards(rewards)).mean
    np.testing.assert_allclose(single, finite_difference, atol=1e-6)
    np.testing.assert_allclose(multi, finite_difference, atol=1e-6)
    np.testing.assert_allclose(est.exact_policy_gradient(enum, rewards), single, atol=1e-12)
    np.testing.assert_allclose(past, 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "policy",
    [est.prefix_tree(3, 3, seed=20), est.bigram(3, 4, seed=21)],
    ids=lambda p: p.name,
)
def test_scenario_a_terminal_reward_makes_single_and_multi_step_identical(policy):
    enum = est.enumerate_sequences(policy)
    outcome = np.random.default_rng(22).standard_normal(len(enum.prob))
    rewards = est.terminal_reward(outcome, policy.length)
    single = est.single_step_weights(rewards)
    multi = est.multi_step_weights(rewards)
    # R = G_t = outcome for every t: nothing is earned before the last token.
    np.testing.assert_array_equal(single, multi)
    np.testing.assert_array_equal(
        est.tabular_gradients(policy, enum.sequences, single),
        est.tabular_gradients(policy, enum.sequences, multi),
    )


# ----------------------------------------------------------------------------------------------
# Traces: the term-by-term split, the martingale structure of scores, baselines.


@pytest.mark.parametrize(
    "policy", random_policies(vocab=3, length=3, seed=30), ids=lambda p: p.name
)
@pytest.mark.parametrize("weight_fn", [est.single_step_weights, est.multi_step_weights])
def test_term_covariances_sum_to_the_trace_of_the_dense_gradient(policy, weight_fn):
    enum = est.enumerate_sequences(policy)
    weights = weight_fn(causal_random_rewards(policy.vocab, policy.length, seed=31)(enum.sequences))
    terms = est.term_covariances(enum, weights)
    moments = est.exact_moments(enum, weights)
    trace = direct_trace(enum, weights)
    np.testing.assert_allclose(terms, terms.T, atol=1e-12)
    assert terms.sum() == pytest.approx(trace, rel=1e-10)
    assert moments.trace == pytest.approx(trace, rel=1e-10)
    assert moments.variance_terms + moments.covariance_terms == pytest.approx(trace, rel=1e-10)


def test_scores_of_a_bigram_policy_are_martingale_differences():
    vocab, length = 3, 4
    enum = est.enumerate_sequences(est.bigram(vocab, length, seed=40))
    expected_dots = enum.expect(enum.dots)  # (T, T): E[S_i . S_j]
    # Tokens with the same previous token share a row, so S_i . S_j is not zero sequence by
    # sequence; only its expectation is, because E[S_j | y_<j] = 0.
    assert np.abs(enum.dots[:, 1, 2]).max() > 0.1
    np.testing.assert_allclose(expected_dots - np.diag(np.diag(expected_dots)), 0.0, atol=1e-12)
    sum_of_scores = enum.expect(est.squared_norms(enum, np.ones((len(enum.prob), length))))
    assert sum_of_scores == pytest.approx(np.trace(expected_dots), rel=1e-12)
    # E||S_t||^2 = 1 - ||p||^2 <= 1 - 1/V for any next-token distribution p.
    assert (np.diag(expected_dots) <= 1 - 1 / vocab + 1e-12).all()


@pytest.mark.parametrize("seed", range(5))
def test_terminal_reward_trace_is_at_most_max_reward_squared_times_t(seed):
    vocab, length = 3, 4
    rng = np.random.default_rng(50 + seed)
    for policy in [est.bigram(vocab, length, seed=seed), est.prefix_tree(vocab, length, seed=seed)]:
        enum = est.enumerate_sequences(policy)
        outcome = rng.uniform(-1, 1, len(enum.prob))
        weights = est.single_step_weights(est.terminal_reward(outcome, length))
        trace = est.exact_moments(enum, weights).trace
        # tr Cov(R S) <= E[R^2 ||S||^2] <= max R^2 sum_t E||S_t||^2 <= max R^2 T (1 - 1/V)
        assert 0 < trace <= np.abs(outcome).max() ** 2 * length * (1 - 1 / vocab)


def test_optimal_constant_baseline_is_the_bottom_of_the_trace_parabola():
    policy = est.bigram(3, 3, seed=60)
    enum = est.enumerate_sequences(policy)
    rewards = causal_random_rewards(3, 3, seed=61, shift=1.0)(enum.sequences)
    returns = est.sequence_return(rewards)

    def trace(baseline):
        return est.exact_moments(enum, est.single_step_weights(rewards, baseline)).trace

    best = est.optimal_constant_baseline(enum, returns)
    mean_return = float(enum.expect(returns))
    assert abs(best - mean_return) > 0.01  # b* is not just the mean reward here
    assert trace(best) < trace(0.0)
    assert trace(best) < trace(mean_return)
    grid = best + np.linspace(-1, 1, 201)
    traces = np.array([trace(b) for b in grid])
    assert (trace(best) <= traces + 1e-12).all()
    a, b, _ = np.polyfit(grid, traces, 2)
    assert a > 0
    assert -b / (2 * a) == pytest.approx(best, abs=1e-8)


# ----------------------------------------------------------------------------------------------
# Monte Carlo against enumeration.


def within_standard_errors(estimate, stderr, exact, k=5.0):
    return bool(np.all(np.abs(np.asarray(estimate) - exact) <= k * np.asarray(stderr)))


@pytest.mark.parametrize("weight_fn", [est.single_step_weights, est.multi_step_weights])
def test_monte_carlo_agrees_with_enumeration_within_five_standard_errors(weight_fn):
    policy = est.bigram(3, 3, seed=70)
    # Unshifted rewards: a shift adds noise but no signal, and the 20% check below needs signal.
    reward_fn = causal_random_rewards(3, 3, seed=73)
    enum = est.enumerate_sequences(policy)
    weights = weight_fn(reward_fn(enum.sequences))
    exact_mean = est.exact_moments(enum, weights).mean.ravel()
    exact_second_moment = float(enum.expect(est.squared_norms(enum, weights)))

    mc = est.monte_carlo(policy, reward_fn, weight_fn, n=20_000, seed=72)

    assert within_standard_errors(mc.mean, mc.mean_stderr, exact_mean)
    assert within_standard_errors(mc.second_moment, mc.second_moment_stderr, exact_second_moment)
    # The same check rejects exact values that are 20% off (by ~10 standard errors or more at
    # this n, for both the largest mean coordinate and the second moment): it can fail.
    assert not within_standard_errors(mc.mean, mc.mean_stderr, 1.2 * exact_mean)
    assert not within_standard_errors(
        mc.second_moment, mc.second_moment_stderr, 1.2 * exact_second_moment
    )


# ----------------------------------------------------------------------------------------------
# Bad input, and probabilities with zeros.


@pytest.mark.parametrize(
    "probs, message",
    [
        ([[1.5, -0.5], [0.5, 0.5]], "nonnegative"),
        ([[0.5, 0.4], [0.5, 0.5]], "row 0 sums to 0.9"),
        ([0.5, 0.5], r"shape \(T, V\)"),
    ],
)
def test_per_position_rejects_bad_probabilities(probs, message):
    with pytest.raises(ValueError, match=message):
        est.per_position(probs=probs)


def test_per_position_needs_exactly_one_of_logits_and_probs():
    with pytest.raises(ValueError, match="exactly one of logits or probs"):
        est.per_position()
    with pytest.raises(ValueError, match="exactly one of logits or probs"):
        est.per_position(np.zeros((2, 2)), probs=np.full((2, 2), 0.5))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_logits_must_be_finite_or_minus_infinity(bad):
    logits = np.zeros((2, 3))
    logits[1, 2] = bad
    with pytest.raises(ValueError, match="finite or -inf"):
        est.per_position(logits)
    with pytest.raises(ValueError, match="finite or -inf"):
        est.bigram(3, 2, logits=np.where(np.eye(4, 3) > 0, bad, 0.0))


def test_a_row_of_logits_that_can_emit_nothing_is_refused():
    with pytest.raises(ValueError, match="a finite entry in every row"):
        est.per_position([[0.0, -np.inf], [-np.inf, -np.inf]])


def test_prefix_tree_and_bigram_reject_logits_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(13, 3\)"):
        est.prefix_tree(3, 3, logits=np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        est.bigram(3, 3, logits=np.zeros((13, 3)))


@pytest.mark.parametrize(
    "policy",
    [est.per_position(np.zeros((30, 10))), est.bigram(10, 30), est.per_position(np.zeros((21, 2)))],
    ids=["per-position 10^30", "bigram 10^30", "per-position 2^21"],
)
def test_too_many_sequences_is_refused_by_name(policy):
    # 10^30 sequences could never be allocated, so this message can only come from a check
    # made before any array of V^T rows exists.
    with pytest.raises(ValueError, match=r"MAX_SEQUENCES = 1048576"):
        est.enumerate_sequences(policy)


def test_prefix_tree_with_too_many_sequences_is_refused_by_name():
    # The prefix tree's logits table has about V^T rows: refused before it is allocated.
    with pytest.raises(ValueError, match="MAX_SEQUENCES"):
        est.prefix_tree(10, 30)
    with pytest.raises(ValueError, match="MAX_SEQUENCES"):
        est.prefix_tree(10, 9, seed=0)


def test_too_many_array_entries_is_refused_by_name():
    # 2^20 sequences of 20 tokens would need 2^20 x 20 x 20 inner products.
    with pytest.raises(ValueError, match="MAX_ENTRIES = 67108864"):
        est.enumerate_sequences(est.per_position(np.zeros((20, 2))))


def test_probabilities_with_zeros_enumerate_without_nan():
    policy = est.per_position(probs=[[1, 0], [0.5, 0.5]])
    enum = est.enumerate_sequences(policy)
    np.testing.assert_allclose(enum.prob, [0.5, 0.5, 0.0, 0.0])
    assert enum.prob.sum() == pytest.approx(1.0)
    rewards = np.array([[1.0, 2.0], [3.0, -1.0], [5.0, 7.0], [0.0, 4.0]])
    for weight_fn in [est.single_step_weights, est.multi_step_weights]:
        moments = est.exact_moments(enum, weight_fn(rewards))
        assert np.isfinite(moments.mean).all()
        assert np.isfinite(moments.terms).all()
        assert np.isfinite(moments.trace)
        # The first token is certain: its score, and so its row of the mean, is zero.
        np.testing.assert_allclose(moments.mean[0], 0.0, atol=1e-15)


# ----------------------------------------------------------------------------------------------
# Symbolic.


@pytest.mark.parametrize("vocab", [2, 3, 4])
def test_symbolic_score_has_mean_zero(vocab):
    _, probs = est.symbolic_softmax(vocab)
    scores = [est.symbolic_score(vocab, action) for action in range(vocab)]
    for i in range(vocab):
        expected = sum(probs[action] * scores[action][i] for action in range(vocab))
        assert sp.simplify(expected) == 0


def test_entropy_of_distributions_in_nats():
    assert est.entropy([0.5, 0.5]) == pytest.approx(np.log(2))
    assert est.entropy([1.0, 0.0, 0.0]) == 0.0  # a zero entry counts for nothing
    assert est.entropy([2.0, 2.0, 0.0, 2.0, 2.0]) == pytest.approx(np.log(4))  # normalised
    rows = est.entropy(np.array([[0.25] * 4, [1.0, 0, 0, 0]]))
    assert rows.shape == (2,) and rows == pytest.approx([np.log(4), 0.0])
