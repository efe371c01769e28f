"""REINFORCE weights, per-sample gradients against backward passes, exact gradients, intervals."""

import itertools
import math
from collections import defaultdict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from straw import policy_gradients, transformer
from straw.tokens import CombinationLock, DigitSum, DigitSumEOS, RunningSum

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


# ----------------------------------------------------------------------------------------------
# Loss normalisations (TRL's loss_type) and answers that stop at an EOS.

EOS_TASK = DigitSumEOS(3, 4, 3)  # token 0 is the EOS; right answers: 1 2 / 2 1 / 1 1 1, then EOS
EOS_ANSWERS = np.array([[1, 2, 0, 0], [2, 1, 0, 2], [1, 1, 1, 0], [0, 1, 1, 1]])  # |o| 3 3 4 1


def eos_batch():
    return policy_gradients.Batch(np.zeros((4, 0), dtype=np.int64), EOS_ANSWERS, 4)


def test_normalised_weights_by_hand():
    c = np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, -1.0, -1.0, -1.0], [2.0, 2.0, 2.0, 2.0]])
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=bool)  # |o| = 2, 4, 1
    masked = c * mask
    assert policy_gradients.normalised_weights(c).tolist() == c.tolist()
    assert policy_gradients.normalised_weights(c, mask, "sum").tolist() == masked.tolist()
    grpo = policy_gradients.normalised_weights(c, mask, "grpo")
    assert np.allclose(grpo, [[0.5, 1, 0, 0], [-0.25] * 4, [2, 0, 0, 0]])
    for name in ("bnpo", "dapo"):  # 3 answers, 7 tokens
        assert np.allclose(policy_gradients.normalised_weights(c, mask, name), masked * 3 / 7)
    assert np.allclose(policy_gradients.normalised_weights(c, mask, "dr_grpo"), masked / 4)
    assert np.allclose(policy_gradients.normalised_weights(c, mask, "dr_grpo", 10), masked / 10)
    # Without an EOS the types differ by constant factors only.
    for name, factor in (("grpo", 1 / 4), ("bnpo", 1 / 4), ("dr_grpo", 1 / 4)):
        assert np.allclose(policy_gradients.normalised_weights(c, None, name), c * factor)


def test_every_loss_type_equals_its_formula():
    model = small_model(EOS_TASK, seed=4)
    batch = eos_batch()
    c = np.random.default_rng(0).normal(size=(4, 4))
    mask = EOS_TASK.answer_mask(EOS_ANSWERS)
    assert mask.sum(axis=1).tolist() == [3, 3, 4, 1]
    log_p = transformer.token_log_probs(model, batch.prompts, EOS_ANSWERS).detach().double()
    m, lengths = torch.as_tensor(mask, dtype=torch.float64), torch.tensor([3.0, 3.0, 4.0, 1.0])
    terms = torch.as_tensor(c) * log_p * m  # l_it = c_it log pi(y_it) on the answer's tokens
    formulas = {
        "sum": -terms.sum(dim=1).mean(),
        "grpo": -(terms.sum(dim=1) / lengths).mean(),  # 1/G sum_i 1/|o_i| sum_t
        "bnpo": -terms.sum() / lengths.sum(),  # 1/sum_i |o_i| sum_i sum_t
        "dapo": -terms.sum() / lengths.sum(),
        "dr_grpo": -terms.sum() / (4 * 4),  # 1/(L G) sum_i sum_t, L = T = 4
    }
    assert set(formulas) == set(policy_gradients.LOSS_TYPES)
    for name, expected in formulas.items():
        loss = policy_gradients.surrogate_loss(model, batch, c, loss_type=name, mask=mask)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5), name
        # Its negative gradient is the mean of the per-sample gradients with the same weights.
        model.zero_grad()
        loss.backward()
        weights = policy_gradients.normalised_weights(c, mask, name)
        grads = policy_gradients.per_sample_gradients(model, batch.prompts, EOS_ANSWERS, weights)
        assert torch.allclose(grads.mean(dim=0), -policy_gradients.flat_gradient(model), atol=1e-6)


def test_sum_without_a_mask_is_the_loss_as_it_was():
    task = RunningSum(4, 3)
    model = small_model(task)
    rng = np.random.default_rng(1)
    batch = policy_gradients.sample_batch(model, task, 2, 3, rng, torch.Generator().manual_seed(1))
    c = rng.normal(size=(6, 3))
    chosen = transformer.token_log_probs(model, batch.prompts, batch.answers)
    before = -(torch.as_tensor(c, dtype=chosen.dtype) * chosen).sum(dim=1).mean()
    for loss in (
        policy_gradients.surrogate_loss(model, batch, c),
        policy_gradients.surrogate_loss(
            model, batch, c, loss_type="sum", mask=task.answer_mask(batch.answers)
        ),
    ):
        assert torch.equal(loss, before)
    reference = small_model(task, seed=1)
    with_kl = policy_gradients.surrogate_loss(model, batch, c, reference, 0.5)
    log_probs = transformer.next_token_log_probs(model, batch.prompts, batch.answers)
    with torch.no_grad():
        ref = transformer.next_token_log_probs(reference, batch.prompts, batch.answers)
    kl = (log_probs.exp() * (log_probs - ref)).sum(dim=-1).sum(dim=1).mean()
    assert torch.equal(with_kl, before + 0.5 * kl)


def test_padding_after_the_eos_changes_nothing():
    model = small_model(EOS_TASK, seed=5)
    repadded = EOS_ANSWERS.copy()
    repadded[0, 3], repadded[3, 1:] = 2, [2, 0, 2]  # other tokens after each first EOS
    mask = EOS_TASK.answer_mask(EOS_ANSWERS)
    assert (EOS_TASK.answer_mask(repadded) == mask).all()
    c = np.random.default_rng(2).normal(size=(4, 4))
    reference = small_model(EOS_TASK, seed=6)
    for name in policy_gradients.LOSS_TYPES:
        one, two = (
            policy_gradients.surrogate_loss(
                model,
                policy_gradients.Batch(np.zeros((4, 0), int), answers, 4),
                c,
                reference,
                0.1,
                name,
                EOS_TASK.answer_mask(answers),
            ).item()
            for answers in (EOS_ANSWERS, repadded)
        )
        assert one == pytest.approx(two, rel=1e-6), name
    with torch.no_grad():
        p = policy_gradients.answer_probabilities(
            model, EOS_TASK, (), np.vstack([EOS_ANSWERS, repadded])
        )
    assert torch.allclose(p[:4], p[4:])


def test_exact_gradient_of_a_task_with_an_eos():
    model = small_model(EOS_TASK, seed=7)
    answers = EOS_TASK.all_answers()  # each distinct answer once: 1 + 2 + 4 + 8 + 16
    assert len(answers) == 31
    prompts = np.zeros((31, 0), dtype=np.int64)
    with torch.no_grad():
        p = policy_gradients.answer_probabilities(model, EOS_TASK)
    assert p.double().sum().item() == pytest.approx(1, abs=1e-5)
    value, gradient = policy_gradients.exact_gradient(model, EOS_TASK)
    outcome = EOS_TASK.outcome(prompts, answers)
    assert value == pytest.approx(float(p.double() @ torch.as_tensor(outcome)), rel=1e-5)
    assert policy_gradients.success_probability(model, EOS_TASK) == pytest.approx(value, rel=1e-5)
    # E[R grad log p], the scores summed up to the EOS only, over the 31 answers.
    c = policy_gradients.weights(policy_gradients.rewards(EOS_TASK, prompts, answers), 1)
    c = policy_gradients.normalised_weights(c, EOS_TASK.answer_mask(answers))
    grads = policy_gradients.per_sample_gradients(model, prompts, answers, c)
    assert torch.allclose((p[:, None] * grads).sum(dim=0), gradient.float(), atol=1e-6)


def test_training_with_each_loss_type_and_bad_loss_types():
    for name in policy_gradients.LOSS_TYPES:
        model = small_model(EOS_TASK)
        config = policy_gradients.RLConfig(baseline="grpo", group_size=4, loss_type=name)
        log = policy_gradients.train_policy(model, EOS_TASK, 2, config)
        assert log.trajectories == [4, 8]
    with pytest.raises(ValueError, match="loss_type must be one of"):
        policy_gradients.RLConfig(loss_type="token_mean")
    with pytest.raises(ValueError, match="loss_type must be one of"):
        policy_gradients.normalised_weights(np.ones((2, 2)), loss_type="seq_mean")
    with pytest.raises(ValueError, match="loss_type must be one of"):
        policy_gradients.surrogate_loss(
            small_model(EOS_TASK), eos_batch(), np.ones((4, 4)), loss_type="GRPO"
        )
    with pytest.raises(ValueError, match="the mask must have the weights' shape"):
        policy_gradients.normalised_weights(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="at least one token"):
        policy_gradients.normalised_weights(np.ones((2, 2)), [[1, 0], [0, 0]], "grpo")
    with pytest.raises(ValueError, match="max_length must be at least"):
        policy_gradients.normalised_weights(np.ones((2, 3)), None, "dr_grpo", 2)


def trl_loss(trainer_class, per_token_logps, advantages, mask, loss_type, max_completion_length):
    """TRL's GRPOTrainer._compute_loss on given per-token log-probs: the model call is replaced
    and `self` is a stand-in holding only what the loss reads (one process, no accumulation,
    evaluation mode, beta = 0, one iteration so the ratio pi / pi_old is 1)."""

    class Accelerator:
        num_processes, sync_gradients = 1, True

        def gather(self, x):
            return x

        gather_for_metrics = gather

        def reduce(self, x, reduction="sum"):
            return x

    class StandIn:
        pass

    stand_in = StandIn()
    stand_in.__dict__.update(
        loss_type=loss_type,
        max_completion_length=max_completion_length,
        beta=0.0,
        epsilon_low=0.2,
        epsilon_high=0.2,
        importance_sampling_level="token",
        off_policy_mask_threshold=None,
        top_entropy_quantile=1.0,
        use_vllm=False,
        vllm_importance_sampling_correction=False,
        aux_loss_enabled=False,
        current_gradient_accumulation_steps=1,
        accelerator=Accelerator(),
        model=SimpleNamespace(training=False),
        _metrics=defaultdict(lambda: defaultdict(list)),
        _entropy_bonus_enabled=False,
        use_adaptive_entropy=False,
        args=SimpleNamespace(delta=None, steps_per_generation=1, use_bias_correction_kl=False),
        _get_per_token_logps_and_entropies=lambda *args, **kwargs: (
            per_token_logps,
            torch.zeros_like(per_token_logps),
            None,
        ),
    )
    n, T = per_token_logps.shape
    inputs = {
        "prompt_ids": torch.zeros((n, 1), dtype=torch.long),
        "prompt_mask": torch.ones((n, 1), dtype=torch.long),
        "completion_ids": torch.zeros((n, T), dtype=torch.long),
        "completion_mask": torch.as_tensor(mask, dtype=torch.long),
        "advantages": torch.as_tensor(advantages, dtype=per_token_logps.dtype),
        "num_items_in_batch": torch.as_tensor(mask).sum(),
    }
    return trainer_class._compute_loss(stand_in, None, inputs)


def test_every_loss_type_has_the_gradient_of_trls_loss():
    import trl  # test-only (tests/requirements.txt); imported here, since it loads slowly

    model = small_model(EOS_TASK, seed=8)
    batch = eos_batch()
    mask = EOS_TASK.answer_mask(EOS_ANSWERS)
    r = policy_gradients.rewards(EOS_TASK, batch.prompts, EOS_ANSWERS)
    c = policy_gradients.weights(r, 4, "single", "grpo")  # one group, one advantage per answer
    for loss_type in policy_gradients.LOSS_TYPES[1:]:  # TRL has no "sum"
        model.zero_grad()
        policy_gradients.surrogate_loss(model, batch, c, loss_type=loss_type, mask=mask).backward()
        ours = policy_gradients.flat_gradient(model)
        model.zero_grad()
        log_p = transformer.token_log_probs(model, batch.prompts, EOS_ANSWERS)
        trl_loss(trl.GRPOTrainer, log_p, c[:, 0], mask, loss_type, EOS_TASK.length).backward()
        theirs = policy_gradients.flat_gradient(model)
        assert torch.allclose(ours, theirs, atol=1e-6), loss_type
        assert ours.norm() > 0


def test_train_policy_shows_every_batch_to_inspect():
    task = CombinationLock(3, 3, secret=(2, 0, 1))
    model = small_model(task, seed=4)
    seen = []
    config = policy_gradients.RLConfig(baseline="rloo", group_size=4, groups=2)
    policy_gradients.train_policy(
        model, task, 3, config, inspect=lambda m, batch, c: seen.append((m, batch, c))
    )
    assert len(seen) == 3 and all(m is model for m, _, _ in seen)
    assert all(batch.answers.shape == c.shape == (8, 3) for _, batch, c in seen)


# ----------------------------------------------------------------------------------------------
# Exact moments of one answer's gradient when answers come in groups.


@pytest.mark.parametrize("task", [DigitSumEOS(3, 3, 2), DigitSum(2, 3, 1)], ids=str)
def test_exact_group_moments_match_every_group_of_three(task):
    # Every ordered group of 3 distinct answers (15^3 with an EOS, 2^3 = 8 answers without),
    # its probability, and c' from the package's own `weights` and `normalised_weights`.
    model, k = small_model(task, seed=5), 3
    answers = task.all_answers()
    mask = task.answer_mask(answers)
    with torch.no_grad():
        p = policy_gradients.answer_probabilities(model, task, (), answers).double().numpy()
    scores = policy_gradients.per_sample_gradients(
        model, np.zeros((len(answers), 0), dtype=np.int64), answers, mask.astype(float)
    ).double()
    groups = np.array(list(itertools.product(range(len(answers)), repeat=k)))
    probability = p[groups].prod(axis=1)
    r = policy_gradients.rewards(task, np.zeros((groups.size, 0), int), answers[groups.ravel()])
    for baseline in policy_gradients.BASELINES:
        c = policy_gradients.weights(r, k, "single", baseline).reshape(len(groups), k, -1)
        for loss_type in policy_gradients.LOSS_TYPES:
            first = np.array(
                [
                    policy_gradients.normalised_weights(group_c, mask[group], loss_type)[0, 0]
                    for group, group_c in zip(groups, c, strict=True)
                ]
            )  # c'_1: the same on every token of the first answer, and it has a first token
            by_answer = np.zeros((2, len(answers)))
            np.add.at(by_answer, (0, groups[:, 0]), probability * first)
            np.add.at(by_answer, (1, groups[:, 0]), probability * first**2)
            mean = torch.as_tensor(by_answer[0]) @ scores
            trace = float(torch.as_tensor(by_answer[1]) @ (scores**2).sum(dim=1) - mean @ mean)
            stats = policy_gradients.exact_group_moments(model, task, k, baseline, loss_type)
            name = f"{baseline} {loss_type}"
            assert torch.allclose(stats.mean, mean, rtol=1e-6, atol=1e-9 * mean.abs().max()), name
            assert stats.trace == pytest.approx(trace, rel=1e-6), name
            assert stats.squared_norm == pytest.approx(float(mean @ mean), rel=1e-6), name


@pytest.mark.parametrize("task", [DigitSumEOS(3, 4, 3), DigitSum(3, 3, 4)], ids=str)
def test_exact_group_moments_without_baseline_sum_are_unbiased(task):
    model = small_model(task, seed=6)
    _, exact = policy_gradients.exact_gradient(model, task)
    for baseline in ("none", "rloo"):
        stats = policy_gradients.exact_group_moments(model, task, 4, baseline, "sum")
        assert torch.allclose(stats.mean, exact.double(), rtol=1e-5, atol=1e-7), baseline
        assert stats.cosine == pytest.approx(1.0, abs=1e-9)
        assert stats.noise_scale == stats.trace / float(stats.mean @ stats.mean)
    # Without an EOS every answer has length T: the loss types differ by a constant factor.
    if task.eos is None:
        dr_grpo = policy_gradients.exact_group_moments(model, task, 4, "grpo", "dr_grpo")
        for loss_type in ("grpo", "bnpo"):
            other = policy_gradients.exact_group_moments(model, task, 4, "grpo", loss_type)
            assert torch.allclose(other.mean, dr_grpo.mean, rtol=1e-6, atol=1e-12), loss_type
            assert other.cosine == pytest.approx(dr_grpo.cosine, abs=1e-9)


def test_exact_group_moments_refuses_what_it_cannot_compute():
    task = DigitSumEOS(3, 3, 2)
    model = small_model(task)
    for group_size, baseline in ((1, "rloo"), (1, "grpo")):
        with pytest.raises(ValueError, match="at least 2 answers"):
            policy_gradients.exact_group_moments(model, task, group_size, baseline)
    with pytest.raises(ValueError, match="group_size must be at least 1"):
        policy_gradients.exact_group_moments(model, task, 0)
    with pytest.raises(ValueError, match="baseline must be one of"):
        policy_gradients.exact_group_moments(model, task, 4, "mean")
    with pytest.raises(ValueError, match="loss_type must be one of"):
        policy_gradients.exact_group_moments(model, task, 4, "grpo", "token")
    prompted = RunningSum(3, 2)
    with pytest.raises(ValueError, match="no prompts"):
        policy_gradients.exact_group_moments(small_model(prompted), prompted, 4)
    # One answer, no baseline: c' = R s(|y|), nothing to convolve.
    one = policy_gradients.exact_group_moments(model, task, 1, "none", "grpo")
    assert one.trace > 0 and one.squared_norm > 0


def test_exact_prefix_values_match_enumerated_completions():
    task = RunningSum(3, 3)
    model = small_model(task, seed=5)
    prompts = np.array([[1, 2, 0], [1, 2, 0], [2, 2, 2]])
    answers = np.array([[1, 0, 0], [2, 1, 1], [0, 1, 2]])
    values = policy_gradients.exact_prefix_values(model, task, prompts, answers)
    for i in range(len(answers)):
        for t in range(task.length):
            # P(outcome | prefix): every completion of the first t tokens, weighted by its
            # probability given the prefix.
            rest = task.all_answers()[:, : task.length - t]
            full = np.hstack([np.tile(answers[i, :t], (len(rest), 1)), rest])
            full = np.unique(full, axis=0)
            with torch.no_grad():
                logp = transformer.token_log_probs(model, np.tile(prompts[i], (len(full), 1)), full)
            q = logp[:, t:].sum(dim=1).exp().double().numpy()
            r = task.outcome(np.tile(prompts[i], (len(full), 1)), full)
            assert values[i, t] == pytest.approx(float(q @ r / q.sum()), rel=1e-5)
    with pytest.raises(ValueError, match="stops"):
        eos = DigitSumEOS(3, 3, 2)
        policy_gradients.exact_prefix_values(small_model(eos), eos, np.zeros((1, 0)), [[1, 1, 0]])


def test_a_fitted_critic_learns_what_the_prefix_predicts():
    task = RunningSum(3, 2)
    config = transformer.LMConfig.for_task(task, n_layer=1, n_embd=16, n_head=2, value_head=True)
    critic = transformer.TinyLM(config)
    prompts = task.sample_prompts(512, np.random.default_rng(0))
    answers = np.random.default_rng(1).integers(3, size=(512, 2))
    outcomes = task.outcome(prompts, answers)
    head = [p.clone() for p in critic.value_head.parameters()]
    trunk = [p.clone() for name, p in critic.named_parameters() if "value_head" not in name]
    before = policy_gradients.critic_values(critic, prompts, answers).detach()
    policy_gradients.fit_critic(critic, prompts, answers, outcomes, steps=200, lr=3e-2)
    after = policy_gradients.critic_values(critic, prompts, answers).detach()
    assert after.shape == (512, 2) and not torch.equal(before, after)
    fitted = critic.value_head.parameters()
    assert all(not torch.equal(a, b) for a, b in zip(head, fitted, strict=True))
    rest = [p for name, p in critic.named_parameters() if "value_head" not in name]
    assert all(torch.equal(a, b) for a, b in zip(trunk, rest, strict=True))  # only the head
    # Uniform answers: a right last line has probability 1/3 whatever came before it.
    assert after.mean().item() == pytest.approx(outcomes.mean(), abs=0.05)
