"""REINFORCE weights, per-sample gradients against backward passes, exact gradients, intervals."""

import math

import numpy as np
import pytest
import torch

from straw import policy_gradients, transformer
from straw.tokens import CombinationLock, DigitSum, RunningSum

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_model(task, seed=0):
    return transformer.TinyLM(
        transformer.LMConfig.for_task(task, n_layer=1, n_embd=16, n_head=2, seed=seed)
    )


def test_weights_single_multi_and_baselines():
    r = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    single = policy_gradients.weights(r, 2, "single")
    assert single.tolist() == [[2, 2, 2], [1, 1, 1], [1, 1, 1], [3, 3, 3]]
    multi = policy_gradients.weights(r, 2, "multi")
    assert multi.tolist() == [[2, 1, 1], [1, 1, 1], [1, 1, 0], [3, 2, 1]]
    # Leave-one-out in groups of two: subtract the other answer's weight, position by position.
    assert policy_gradients.weights(r, 2, "single", "rloo").tolist() == [
        [1] * 3,
        [-1] * 3,
        [-2] * 3,
        [2] * 3,
    ]
    assert policy_gradients.weights(r, 2, "multi", "rloo").tolist() == [
        [1, 0, 0],
        [-1, 0, 0],
        [-2, -1, -1],
        [2, 1, 1],
    ]
    grpo = policy_gradients.weights(r, 4, "single", "grpo")
    assert grpo[:, 0].mean() == pytest.approx(0) and grpo[:, 0].std() == pytest.approx(1, 1e-5)
    # An all-equal group has nothing to learn from: zero weights, not NaN.
    assert (policy_gradients.weights(np.ones((3, 2)), 3, "multi", "grpo") == 0).all()


def test_terminal_reward_makes_single_and_multi_equal_for_every_baseline():
    r = policy_gradients.rewards(
        CombinationLock(3, 4, secret=(0, 1, 2, 0)),
        np.zeros((4, 0)),
        [[0, 1, 2, 0], [0, 1, 2, 1], [0, 0, 0, 0], [0, 1, 2, 0]],
    )
    for baseline in policy_gradients.BASELINES:
        single = policy_gradients.weights(r, 4, "single", baseline)
        assert np.array_equal(single, policy_gradients.weights(r, 4, "multi", baseline))


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="estimator must be one of"):
        policy_gradients.weights(np.zeros((2, 2)), 2, "double")
    with pytest.raises(ValueError, match="groups of 3"):
        policy_gradients.weights(np.zeros((4, 2)), 3)
    with pytest.raises(ValueError, match="at least 2 answers"):
        policy_gradients.weights(np.zeros((4, 2)), 1, baseline="rloo")
    with pytest.raises(ValueError, match="baseline must be one of"):
        policy_gradients.RLConfig(baseline="ppo")
    with pytest.raises(ValueError, match="MAX_SEQUENCES"):
        policy_gradients.exact_gradient(
            small_model(CombinationLock(4096, 2)), CombinationLock(4096, 2)
        )


def test_vectorised_per_sample_gradients_equal_backward_passes():
    task = RunningSum(4, 3)
    model = small_model(task)
    rng = np.random.default_rng(0)
    batch = policy_gradients.sample_batch(model, task, 3, 2, rng, torch.Generator().manual_seed(0))
    c = rng.normal(size=(6, 3))
    fast = policy_gradients.per_sample_gradients(
        model, batch.prompts, batch.answers, c, chunk_size=4
    )
    slow = policy_gradients.per_sample_gradients_loop(model, batch.prompts, batch.answers, c)
    assert fast.shape == (6, model.num_parameters())
    assert torch.allclose(fast, slow, atol=1e-5)
    # The batch mean of g(y) is minus the gradient of the surrogate loss.
    model.zero_grad()
    policy_gradients.surrogate_loss(model, batch, c).backward()
    assert torch.allclose(fast.mean(dim=0), -policy_gradients.flat_gradient(model), atol=1e-5)


def test_traces_by_length_measures_every_weighting_on_the_same_answers():
    model = transformer.TinyLM(
        transformer.LMConfig(vocab=3, context=8, n_layer=1, n_embd=16, n_head=2)
    )
    tasks = [RunningSum(3, 2), RunningSum(3, 4)]
    kinds = {"outcome": ("outcome", "single"), "process": ("process", "multi")}
    traces, success = policy_gradients.traces_by_length(model, tasks, kinds, answers=8)
    assert list(traces) == list(kinds) and all(len(t) == 2 for t in traces.values())
    for task, rate, trace in zip(tasks, success, traces["process"], strict=True):
        rng, generator = (
            np.random.default_rng(task.length),
            torch.Generator().manual_seed(task.length),
        )
        batch = policy_gradients.sample_batch(model, task, 8, 1, rng, generator)
        c = policy_gradients.weights(
            policy_gradients.rewards(task, batch.prompts, batch.answers, "process"), 1, "multi"
        )
        grads = policy_gradients.per_sample_gradients(model, batch.prompts, batch.answers, c)
        assert trace == policy_gradients.gradient_stats(grads).trace
        assert rate == task.outcome(batch.prompts, batch.answers).mean()


def test_exact_gradient_matches_enumerated_estimator_mean():
    task = DigitSum(3, 3, 4)
    model = small_model(task, seed=1)
    value, gradient = policy_gradients.exact_gradient(model, task)
    answers = task.all_answers()
    prompts = np.zeros((len(answers), 0), dtype=np.int64)
    with torch.no_grad():
        p = policy_gradients.answer_probabilities(model, task, (), answers)
    assert p.sum().item() == pytest.approx(1, abs=1e-5)
    outcome = task.outcome(prompts, answers)
    assert value == pytest.approx(float(p.double() @ torch.as_tensor(outcome)), rel=1e-5)
    assert policy_gradients.success_probability(model, task) == pytest.approx(value, rel=1e-5)
    # E[R grad log p] summed exactly over all 27 answers is the same gradient.
    grads = policy_gradients.per_sample_gradients(
        model,
        prompts,
        answers,
        policy_gradients.weights(policy_gradients.rewards(task, prompts, answers), 1, "single"),
    )
    mean = (p[:, None] * grads).sum(dim=0)
    assert torch.allclose(mean, gradient.float(), atol=1e-6)
    stats = policy_gradients.gradient_stats(grads, gradient)
    assert -1 <= stats.cosine <= 1 and stats.trace > 0 and stats.noise_scale > 0


def test_reinforce_with_rloo_opens_a_short_lock_and_kl_holds_it_back():
    task = CombinationLock(3, 3, secret=(2, 0, 1))

    def success_after(kl_coef):
        model = small_model(task)
        config = policy_gradients.RLConfig(baseline="rloo", group_size=16, lr=3e-2, kl_coef=kl_coef)
        log = policy_gradients.train_policy(
            model, task, 10, config, seed=0, evaluate=success, eval_every=10
        )
        assert log.trajectories[-1] == 10 * 16
        (_, before), (_, after) = log.evaluated
        assert before == pytest.approx(1 / 27, abs=0.01)
        return after

    def success(model):
        return policy_gradients.success_probability(model, task)

    assert success_after(0.01) > 0.5
    assert success_after(3.0) < 0.1  # a strong penalty keeps the model near where it began


def test_kl_penalty_is_zero_at_the_reference():
    task = CombinationLock(4, 3)
    model = small_model(task)
    batch = policy_gradients.sample_batch(
        model, task, 1, 8, np.random.default_rng(0), torch.Generator()
    )
    c = np.ones((8, 3))
    plain = policy_gradients.surrogate_loss(model, batch, c)
    assert policy_gradients.surrogate_loss(
        model, batch, c, model, kl_coef=5.0
    ).item() == pytest.approx(plain.item())
    with pytest.raises(ValueError, match="reference model"):
        policy_gradients.surrogate_loss(model, batch, c, None, kl_coef=1.0)


def student_t_cdf(x, df):
    """P(t <= x) for Student's t with `df` degrees of freedom, by integrating its density."""
    grid = np.linspace(0, x, 200_001)
    scale = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    density = scale * (1 + grid**2 / df) ** (-(df + 1) / 2)
    return 0.5 + float(((density[1:] + density[:-1]) / 2 * np.diff(grid)).sum())


def test_interval_quantiles_are_students_t():
    assert (
        policy_gradients.T_975[4] == 2.776 and policy_gradients.T_975[2] == 4.303
    )  # the printed tables' values
    for df, quantile in policy_gradients.T_975.items():
        assert abs(student_t_cdf(quantile, df) - 0.975) < 2e-5


def test_mean_interval_over_runs():
    runs = np.array([[0.0, 1.0], [2.0, 1.0]])  # two runs: 1 degree of freedom
    mean, half = policy_gradients.mean_interval(runs)
    assert mean.tolist() == [1.0, 1.0]
    assert half[0] == pytest.approx(12.706) and half[1] == 0
    values = np.arange(5.0)
    mean, half = policy_gradients.mean_interval(values[None, :], axis=1)
    assert mean[0] == 2 and half[0] == pytest.approx(2.776 * np.sqrt(2.5 / 5))
    for runs in (np.zeros((1, 3)), np.zeros((12, 3))):
        with pytest.raises(ValueError, match="needs 2 to 11 runs"):
            policy_gradients.mean_interval(runs)


def test_one_answer_noise_matches_enumeration_and_its_lower_bound():
    task = RunningSum(3, 2)
    model = small_model(task, seed=2)
    prompts = np.array([(a, b) for a in range(3) for b in range(3)])
    stats = policy_gradients.one_answer_noise(model, prompts, task.partial_sums(prompts))
    # Enumerate every (prompt, answer) pair: R = 1 only when every step is right.
    answers = task.all_answers()
    rows = np.repeat(prompts, len(answers), axis=0)
    cols = np.tile(answers, (len(prompts), 1))
    reward = task.token_rewards(rows, cols).all(axis=1).astype(float)
    grads = policy_gradients.per_sample_gradients(
        model, rows, cols, np.repeat(reward[:, None], 2, axis=1)
    ).double()
    with torch.no_grad():
        p = transformer.token_log_probs(model, rows, cols).sum(dim=1).exp().double() / 9
    mean = (p[:, None] * grads).sum(dim=0)
    trace = float((p * (grads**2).sum(dim=1)).sum() - mean @ mean)
    assert torch.allclose(stats.mean, mean, atol=1e-7)
    assert stats.trace == pytest.approx(trace, rel=1e-5)
    # Cauchy-Schwarz: for a 0/1 reward the noise scale is at least (1 - p) / p ...
    success = float(p @ torch.as_tensor(reward))
    assert stats.noise_scale >= (1 - success) / success
    # ... with equality when there is one prompt.
    lock = CombinationLock(3, 3, secret=(2, 0, 1))
    lock_model = small_model(lock, seed=3)
    one = policy_gradients.one_answer_noise(lock_model, np.zeros((1, 0), int), [lock.secret])
    q = policy_gradients.success_probability(lock_model, lock)
    assert one.noise_scale == pytest.approx((1 - q) / q, rel=1e-5)
