"""Policy-gradient RL for the tiny language model, and the measurement of its gradient noise.

An estimator of the gradient of J(theta) = E_y[R(y)] is a weighted sum of token scores,

    g(y) = sum_t c_t(y) grad log pi(y_t | x, y_<t),

as in `straw.estimators`, now with the scores of a real transformer. `weights` builds c_t from
the rewards of a batch in two steps:

    estimator   "single"  c_t = R(y) = sum_k r_k       the whole answer is one action
                "multi"   c_t = G_t = sum_{k>=t} r_k   each token is an action (reward-to-go)
    baseline    "none"    c_t as it is
                "rloo"    c_t minus the mean of the other k-1 answers' c_t for the same prompt
                          (leave-one-out; Kool et al. 2019, Ahmadian et al. 2024)
                "grpo"    (c_t - mean) / (std + eps) over the k answers to the same prompt
                          (group-normalised; Shao et al. 2024)

The baseline acts position by position across the group, so under a terminal reward (G_t = R
for every t) the single- and multi-step weights are equal for every baseline. A batch holds
`groups` prompts, each answered `group_size` times, group by group.

`per_sample_gradients` computes g(y) for every answer of a batch at once with `torch.func`
(vmap over grad), which is what makes the variance measurable: the trace of the covariance,
the noise scale tr(Sigma) / |G|^2 (McCandlish et al. 2018) and, where every answer can be
enumerated (`exact_gradient`), the cosine between a batch's mean gradient and the true one;
`traces_by_length` measures the trace against the answer's length; `one_answer_noise` gives
the exact trace and noise scale when each prompt has one right answer, and `exact_group_moments`
the exact mean and trace when answers come in groups, for any baseline and `loss_type` (and so
their bias). `train_policy` runs REINFORCE with any of these weights, an optional KL penalty to
a reference model, and `mean_interval` reports a figure over a few seeds with its 95% interval.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from straw import transformer
from straw.estimators import multi_step_weights, single_step_weights, terminal_reward
from straw.tokens import Task

ESTIMATORS = ("single", "multi")
BASELINES = ("none", "rloo", "grpo")
REWARDS = ("outcome", "process")
# How the loss divides the weighted log-probabilities: the book's own sum over tokens, then
# Hugging Face TRL's GRPOConfig.loss_type options (see `normalised_weights`).
LOSS_TYPES = ("sum", "grpo", "bnpo", "dapo", "dr_grpo")
OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
GRPO_EPS = 1e-6  # added to the group's standard deviation, so an all-equal group gives zeros
# Student's t, 97.5% quantile, by degrees of freedom: a 95% interval is mean +- t s / sqrt(n).
T_975 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
}


# ----------------------------------------------------------------------------------------------
# Rewards and the weights c_t.


def rewards(task: Task, prompts, answers, kind: str = "outcome") -> np.ndarray:
    """Per-token rewards (n, T): the verifier's outcome at the last token, or the task's
    process rewards r_t."""
    if kind == "outcome":
        return terminal_reward(task.outcome(prompts, answers), task.length)
    if kind == "process":
        return task.token_rewards(prompts, answers)
    raise ValueError(f"reward must be one of {REWARDS}; got {kind!r}")


def weights(
    token_rewards: np.ndarray, group_size: int, estimator: str = "single", baseline: str = "none"
) -> np.ndarray:
    """The weights c_t (n, T) of every token's score, for rows grouped by prompt."""
    if estimator == "single":
        c = single_step_weights(token_rewards)  # the estimators of chapter 1, baseline 0
    elif estimator == "multi":
        c = multi_step_weights(token_rewards)
    else:
        raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
    n, T = c.shape
    if group_size < 1 or n % group_size:
        raise ValueError(f"{n} answers do not split into groups of {group_size}")
    groups = c.reshape(n // group_size, group_size, T)
    if baseline == "none":
        return c.astype(float)
    if baseline == "rloo":
        if group_size < 2:
            raise ValueError("a leave-one-out baseline needs at least 2 answers per prompt")
        others = (groups.sum(axis=1, keepdims=True) - groups) / (group_size - 1)
        return (groups - others).reshape(n, T)
    if baseline == "grpo":
        if group_size < 2:
            raise ValueError("a group-normalised baseline needs at least 2 answers per prompt")
        centred = groups - groups.mean(axis=1, keepdims=True)
        return (centred / (groups.std(axis=1, keepdims=True) + GRPO_EPS)).reshape(n, T)
    raise ValueError(f"baseline must be one of {BASELINES}; got {baseline!r}")


def normalised_weights(
    c: np.ndarray, mask=None, loss_type: str = "sum", max_length: int | None = None
) -> np.ndarray:
    """The weights c'_t (n, T) of the surrogate loss: c_t masked and divided as `loss_type` says.

    With m_it the mask (True up to and including the first EOS; all True by default), the
    answer's length |o_i| = sum_t m_it and L = `max_length` (T by default), the loss
    -(1/n) sum_i sum_t c'_it log pi(y_it) is, for the book's "sum" and the `loss_type`s of
    Hugging Face TRL's GRPOConfig:

        "sum"      c' = m c                   -(1/n) sum_i sum_t m c log pi
        "grpo"     c' = m c / |o_i|           -(1/n) sum_i (1/|o_i|) sum_t m c log pi
        "bnpo"     c' = m c n / sum_j |o_j|   -(1/sum_j |o_j|) sum_i sum_t m c log pi
        "dapo"     as "bnpo": TRL counts the tokens of the whole batch, over every device and
                   accumulation step, and "bnpo" those on one device; here there is one batch
        "dr_grpo"  c' = m c / L               -(1/(n L)) sum_i sum_t m c log pi

    so the batch mean of `per_sample_gradients` with c' is minus the gradient of that loss.
    Tokens after the first EOS get zero weight and count in no |o_i|. Without an EOS every
    |o_i| = T and the types differ only by constant factors (1, 1/T, 1/T, 1/L): they weight
    answers differently only when the answers' lengths differ. The baseline (Dr. GRPO's other
    change, no division by the group's standard deviation) is `weights`' business, not this.
    """
    c = np.asarray(c, dtype=float)
    if c.ndim != 2:
        raise ValueError(f"the weights c must have shape (n, T); got {c.shape}")
    n, T = c.shape
    mask = np.ones((n, T), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != c.shape:
        raise ValueError(f"the mask must have the weights' shape {c.shape}; got {mask.shape}")
    lengths = mask.sum(axis=1)
    if n and lengths.min() == 0:
        raise ValueError("every answer needs at least one token in the mask")
    masked = np.where(mask, c, 0.0)
    if loss_type == "sum":
        return masked
    if loss_type == "grpo":
        return masked / lengths[:, None]
    if loss_type in ("bnpo", "dapo"):
        return masked * (n / lengths.sum())
    if loss_type == "dr_grpo":
        L = T if max_length is None else max_length
        if L < T:
            raise ValueError(f"max_length must be at least the answers' length {T}; got {L}")
        return masked / L
    raise ValueError(f"loss_type must be one of {LOSS_TYPES}; got {loss_type!r}")


# ----------------------------------------------------------------------------------------------
# Batches and the surrogate loss whose gradient is the estimator.


@dataclass(frozen=True)
class Batch:
    """`groups` prompts, each answered `group_size` times; rows grouped by prompt."""

    prompts: np.ndarray  # (n, P)
    answers: np.ndarray  # (n, T)
    group_size: int


def sample_batch(
    model: transformer.TinyLM,
    task: Task,
    groups: int,
    group_size: int,
    rng: np.random.Generator,
    generator: torch.Generator,
    temperature: float = 1.0,
) -> Batch:
    """Draw `groups` prompts and sample `group_size` answers to each from the model."""
    prompts = np.repeat(task.sample_prompts(groups, rng), group_size, axis=0)
    answers = transformer.sample(model, prompts, task.length, temperature, generator).cpu().numpy()
    return Batch(prompts, answers, group_size)


def surrogate_loss(
    model: transformer.TinyLM,
    batch: Batch,
    c: np.ndarray,
    reference: transformer.TinyLM | None = None,
    kl_coef: float = 0.0,
    loss_type: str = "sum",
    mask=None,
) -> torch.Tensor:
    """-(1/n) sum_i sum_t c_t log pi(y_t), plus kl_coef times a KL penalty to `reference`.

    Its negative gradient is the batch mean of g(y). With a `mask` (the tokens up to the first
    EOS) or another `loss_type`, c is first `normalised_weights(c, mask, loss_type)`, and the
    KL penalty is masked and divided alike, as TRL does. The penalty is the KL divergence
    KL(pi(. | x, y_<t) || pi_ref(. | x, y_<t)) computed exactly over the vocabulary at every
    prefix the batch visited, summed over t: with a small vocabulary this costs nothing, and
    it avoids the sampled estimators (such as GRPO's exp(d) - d - 1), whose gradient explodes
    on a sampled token that pi has made much rarer than pi_ref.
    """
    log_probs = transformer.next_token_log_probs(model, batch.prompts, batch.answers)
    answers = transformer.as_tokens(model, batch.answers, "answers")
    chosen = log_probs.gather(-1, answers[..., None])[..., 0]
    c = normalised_weights(c, mask, loss_type)
    c = torch.as_tensor(np.ascontiguousarray(c), dtype=chosen.dtype, device=chosen.device)
    loss = -(c * chosen).sum(dim=1).mean()
    if kl_coef:
        if reference is None:
            raise ValueError("a KL penalty needs a reference model")
        with torch.no_grad():
            reference_log_probs = transformer.next_token_log_probs(
                reference, batch.prompts, answers
            )
        kl = (log_probs.exp() * (log_probs - reference_log_probs)).sum(dim=-1)
        share = normalised_weights(np.ones(kl.shape), mask, loss_type)
        kl = kl * torch.as_tensor(share, dtype=kl.dtype, device=kl.device)
        loss = loss + kl_coef * kl.sum(dim=1).mean()
    return loss


# ----------------------------------------------------------------------------------------------
# Per-sample gradients.


def per_sample_gradients(
    model: transformer.TinyLM, prompts, answers, c, chunk_size: int | None = 256
) -> torch.Tensor:
    """g(y_i) = sum_t c_it grad log pi(y_it | x_i, y_i,<t) for every row i, shape (n, D).

    One vectorised call: `torch.func.vmap` over `torch.func.grad` of a single answer's
    weighted log-probability, `chunk_size` rows at a time. The parameters enter as one flat
    vector (split into views of their shapes inside), so the gradients come out flat, in the
    order of `model.parameters()` (as `flat_gradient`), with no copy to gather them.
    """
    inputs = transformer.model_inputs(model, prompts, answers)
    targets = transformer.as_tokens(model, answers, "answers")
    c = torch.as_tensor(np.ascontiguousarray(c), dtype=torch.float32, device=inputs.device)
    names, shapes = zip(*((name, p.shape) for name, p in model.named_parameters()), strict=True)
    sizes = [shape.numel() for shape in shapes]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    buffers = dict(model.named_buffers())
    start = inputs.shape[1] - targets.shape[1]

    def weighted_log_prob(flat, row, target, weight):
        pieces = flat.split(sizes)
        params = {name: x.view(shape) for name, x, shape in zip(names, pieces, shapes, strict=True)}
        logits = functional_call(model, (params, buffers), (row[None],))[0, start:]
        log_probs = torch.log_softmax(logits, dim=-1).gather(-1, target[:, None])[:, 0]
        return (weight * log_probs).sum()

    per_row = vmap(grad(weighted_log_prob), in_dims=(None, 0, 0, 0), chunk_size=chunk_size)
    return per_row(flat, inputs, targets, c)


def per_sample_gradients_loop(model: transformer.TinyLM, prompts, answers, c) -> torch.Tensor:
    """The same as `per_sample_gradients`, one backward pass per row: the slow reference."""
    rows = []
    c = np.ascontiguousarray(c)
    for i in range(len(answers)):
        model.zero_grad()
        log_probs = transformer.token_log_probs(model, prompts[i : i + 1], answers[i : i + 1])
        (torch.as_tensor(c[i : i + 1], dtype=log_probs.dtype) * log_probs).sum().backward()
        rows.append(flat_gradient(model))
    model.zero_grad()
    return torch.stack(rows)


def flat_gradient(model: transformer.TinyLM) -> torch.Tensor:
    """Every parameter's .grad in one vector (zeros where a parameter has none)."""
    return torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
            for p in model.parameters()
        ]
    )


@dataclass(frozen=True)
class GradientStats:
    """What a batch of per-sample gradients says about the estimator's noise."""

    mean: torch.Tensor  # (D,) the batch's mean gradient
    trace: float  # tr Cov(g), unbiased (ddof 1)
    squared_norm: float  # |G|^2 of the true gradient G: exact if given, else unbiased estimate
    cosine: float | None  # cos(mean, G) where the exact gradient is given

    @property
    def noise_scale(self) -> float:
        """B = tr(Sigma) / |G|^2: the batch size at which noise and signal are equal in size
        (McCandlish et al. 2018); infinite when the gradient's estimate is not positive."""
        return self.trace / self.squared_norm if self.squared_norm > 0 else float("inf")


def gradient_stats(grads: torch.Tensor, exact: torch.Tensor | None = None) -> GradientStats:
    """Trace of the covariance, noise scale and (given the exact gradient) cosine."""
    n = len(grads)
    if n < 2:
        raise ValueError("the covariance of per-sample gradients needs at least 2 samples")
    grads = grads.double()
    mean = grads.mean(dim=0)
    trace = float(grads.var(dim=0, unbiased=True).sum())
    if exact is None:
        # E|mean|^2 = |G|^2 + tr(Sigma) / n, so this is unbiased for |G|^2.
        return GradientStats(mean, trace, float(mean @ mean) - trace / n, None)
    exact = exact.double()
    cosine = float(mean @ exact / (mean.norm() * exact.norm()))
    return GradientStats(mean, trace, float(exact @ exact), cosine)


def traces_by_length(
    model: transformer.TinyLM,
    tasks: list[Task],
    weightings: dict[str, tuple[str, str]],
    answers: int = 256,
) -> tuple[dict[str, list[float]], list[float]]:
    """tr Cov of the per-sample gradients for every task (one per answer length T) and every
    weighting, named (reward, estimator) with no baseline; and each task's success rate.

    For each task, `answers` answers to as many prompts are sampled from `model` with seeds T,
    and every weighting is measured on those same answers, so that only the length changes
    from one task to the next and only the weighting within one.
    """
    traces = {name: [] for name in weightings}
    success = []
    for task in tasks:
        T = task.length
        rng, generator = np.random.default_rng(T), torch.Generator().manual_seed(T)
        batch = sample_batch(model, task, answers, 1, rng, generator)
        for name, (reward, estimator) in weightings.items():
            c = weights(rewards(task, batch.prompts, batch.answers, reward), 1, estimator)
            grads = per_sample_gradients(model, batch.prompts, batch.answers, c)
            traces[name].append(gradient_stats(grads).trace)
        success.append(float(task.outcome(batch.prompts, batch.answers).mean()))
    return traces, success


# ----------------------------------------------------------------------------------------------
# Exact quantities, by enumerating every answer to one prompt.


def answer_probabilities(
    model: transformer.TinyLM, task: Task, prompt=(), answers=None
) -> torch.Tensor:
    """p(y | x) for every answer (all V^T of them by default); differentiable.

    For a task with an EOS the product stops at the answer's first EOS (`task.answer_mask`):
    over `task.all_answers()`, each distinct answer once, the probabilities sum to 1.
    Raises ValueError naming the limit when V^T is too many to enumerate.
    """
    if answers is None:
        answers = task.all_answers()
    prompts = np.tile(np.asarray(prompt, dtype=np.int64).reshape(1, -1), (len(answers), 1))
    log_probs = transformer.token_log_probs(model, prompts, answers)
    mask = torch.as_tensor(task.answer_mask(answers), device=log_probs.device)
    return torch.where(mask, log_probs, 0.0).sum(dim=1).exp()


def exact_gradient(
    model: transformer.TinyLM, task: Task, prompt=(), reward: str = "outcome"
) -> tuple[float, torch.Tensor]:
    """J = sum_y p(y|x) R(y) over every answer, and its exact gradient (D,).

    R is the outcome, or the sum of the process rewards. The gradient is autograd's derivative
    of the enumerated sum: no sampling, no estimator. Answers with R = 0 add nothing and are
    left out (for a combination lock's outcome, one answer remains).
    """
    answers = task.all_answers()
    prompts = np.tile(np.asarray(prompt, dtype=np.int64).reshape(1, -1), (len(answers), 1))
    returns = rewards(task, prompts, answers, reward).sum(axis=1)
    answers, returns = answers[returns != 0], torch.as_tensor(returns[returns != 0])
    model.zero_grad()
    objective = (answer_probabilities(model, task, prompt, answers).double() * returns).sum()
    objective.backward()
    gradient = flat_gradient(model)
    model.zero_grad()
    return float(objective.detach()), gradient


@torch.no_grad()
def success_probability(model: transformer.TinyLM, task: Task, prompt=()) -> float:
    """The exact probability that the model's answer to `prompt` passes the verifier.

    Sums p(y|x) over the accepted answers only (for a combination lock, just the secret).
    """
    answers = task.all_answers()
    prompts = np.tile(np.asarray(prompt, dtype=np.int64).reshape(1, -1), (len(answers), 1))
    accepted = answers[task.outcome(prompts, answers) == 1]
    if len(accepted) == 0:
        return 0.0
    return float(answer_probabilities(model, task, prompt, accepted).double().sum())


def one_answer_noise(model: transformer.TinyLM, prompts, right_answers) -> GradientStats:
    """Exact noise of no-baseline REINFORCE when each prompt has one right answer.

    The reward is R = [y = y*(x)] and the prompts are drawn uniformly from `prompts`. Then
    g = R S(y* | x), so with p_x = p(y* | x) and S_x its score (the sum of its token scores):

        G = E g = mean_x p_x S_x,    tr Sigma = mean_x p_x |S_x|^2 - |G|^2.

    No answer is sampled: one backward pass per prompt gives everything. The success
    probabilities are carried in float64 relative to the largest, so that answers of
    probability 4^-32 neither underflow nor lose the ratio tr Sigma / |G|^2 (`noise_scale`).
    """
    prompts, right_answers = np.asarray(prompts), np.asarray(right_answers)
    scores = per_sample_gradients(model, prompts, right_answers, np.ones(right_answers.shape))
    with torch.no_grad():
        log_p = transformer.token_log_probs(model, prompts, right_answers).sum(dim=1).double()
    top = log_p.max()
    w = torch.exp(log_p - top)  # p_x / max p
    scores = scores.double()
    gradient = (w[:, None] * scores).mean(dim=0) * torch.exp(top)
    second = float((w * (scores**2).sum(dim=1)).mean() * torch.exp(top))
    squared_norm = float(gradient @ gradient)
    return GradientStats(gradient, second - squared_norm, squared_norm, None)


def exact_group_moments(
    model: transformer.TinyLM,
    task: Task,
    group_size: int,
    baseline: str = "none",
    loss_type: str = "sum",
    rows: int = 1024,
) -> GradientStats:
    """Exact mean and trace of the covariance of one answer's gradient, answers drawn in groups.

    A group of k = `group_size` answers y_1 .. y_k is drawn independently from the model, for a
    task without prompts and with a 0/1 outcome reward. Each answer's weight c'_i is what
    training uses: `weights` (single-step, `baseline`), then `normalised_weights` (`loss_type`,
    the group being the whole batch, which is what "bnpo" and "dapo" count the tokens of). The
    per-sample gradient of the first answer, with S(y) = grad log p(y) summed up to the EOS, is

        g = c'_1 S(y_1),   c'_1 = a(r_1, K) s(|y_1|, L),

    where K is the number of right answers and L the total length of the other k-1:

        a   "none" r_1   "rloo" r_1 - K / (k-1)   "grpo" (r_1 - m) / (sqrt(m (1-m)) + eps),
            with m = (r_1 + K) / k the group's mean reward
        s   "sum" 1   "grpo" 1 / |y_1|   "bnpo", "dapo" k / (|y_1| + L)   "dr_grpo" 1 / T

    (a is taken from `weights` itself). (K, L) has the law of a sum of k-1 independent copies
    of one answer's (r, |y|): a convolution. So w_1(y) = E[c'_1 | y_1 = y] and
    w_2(y) = E[c'_1^2 | y_1 = y] are exact, and over every distinct answer y
    (`task.all_answers()`, each masked at its EOS; without an EOS every |y| is T):

        E g = sum_y p(y) w_1(y) S(y),   tr Cov g = sum_y p(y) w_2(y) |S(y)|^2 - |E g|^2.

    E g is also the expected mean gradient of a batch of such groups; the answers of a group
    share K and L, so that mean's covariance is not exactly Cov g / k. The result is
    GradientStats(E g, tr Cov g, |E g|^2, cos(E g, grad J)) with grad J `exact_gradient`'s:
    `noise_scale` is the noise relative to the estimator's own mean, and the cosine its bias
    in direction ("sum" with baseline "none" or "rloo" is unbiased: E g = grad J). Costs one
    per-sample gradient per distinct answer with w_2 > 0, `rows` at a time.

    Raises ValueError for a task with prompts or a reward other than 0/1, a `group_size` below
    1 (below 2 for "rloo" and "grpo"), or an unknown `baseline` or `loss_type`.
    """
    if task.prompt_length:
        raise ValueError(f"the task must have no prompts; {task} has {task.prompt_length} tokens")
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1; got {group_size}")
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}; got {loss_type!r}")
    k, T = group_size, task.length
    answers = task.all_answers()
    no_prompts = np.zeros((len(answers), 0), dtype=np.int64)
    right = task.outcome(no_prompts, answers)
    if not np.isin(right, (0, 1)).all():
        raise ValueError("the outcome reward must be 0 or 1")
    right = right.astype(int)
    mask = task.answer_mask(answers).astype(float)
    lengths = task.answer_lengths(answers)
    with torch.no_grad():
        p = answer_probabilities(model, task, (), answers).double().numpy()

    # a[r, K]: the weight of the first answer of a group [r, then K ones, then zeros].
    groups = [[r] + [1] * K + [0] * (k - 1 - K) for r in (0, 1) for K in range(k)]
    a = weights(np.array(groups, dtype=float).reshape(-1, 1), k, "single", baseline)
    a = a[::k, 0].reshape(2, k)

    # mates[K, L]: the law of the other k-1 answers' right answers K and total length L.
    one = np.zeros((2, T + 1))  # the law of one answer's (r, |y|)
    np.add.at(one, (right, lengths), p)
    mates = np.ones((1, 1))  # no other answer yet: K = L = 0
    for _ in range(k - 1):
        rights, total = mates.shape
        grown = np.zeros((rights + 1, total + T))
        for r, length in zip(*np.nonzero(one), strict=True):
            grown[r : r + rights, length : length + total] += one[r, length] * mates
        mates = grown

    # s[|y_1| - 1, L]: the factor `normalised_weights` puts on the first answer.
    own, rest = np.arange(1, T + 1)[:, None], np.arange(mates.shape[1])[None, :]
    factor = {"sum": 1.0, "grpo": 1 / own, "bnpo": k / (own + rest), "dr_grpo": 1 / T}
    s = np.broadcast_to(factor["bnpo" if loss_type == "dapo" else loss_type], (T, mates.shape[1]))

    # c'_1 = a s, so E[c'_1 | r_1, |y_1|] = (a mates s^T)[r_1, |y_1| - 1], and so for c'_1^2.
    w_1 = (a @ mates @ s.T)[right, lengths - 1]
    w_2 = (a**2 @ mates @ (s**2).T)[right, lengths - 1]

    # The sums over y, in float64, over the answers that weigh anything.
    mean = torch.zeros(sum(x.numel() for x in model.parameters()), dtype=torch.float64)
    second = 0.0
    kept = np.flatnonzero(p * w_2 > 0)
    for start in range(0, len(kept), rows):
        y = kept[start : start + rows]
        scores = per_sample_gradients(model, no_prompts[y], answers[y], mask[y]).double().cpu()
        mean += torch.as_tensor(p[y] * w_1[y]) @ scores
        second += float(torch.as_tensor(p[y] * w_2[y]) @ (scores**2).sum(dim=1))
    squared_norm = float(mean @ mean)
    exact = exact_gradient(model, task)[1].double().cpu()
    cosine = float(mean @ exact / (mean.norm() * exact.norm()))
    return GradientStats(mean, second - squared_norm, squared_norm, cosine)


def exact_prefix_values(model: transformer.TinyLM, task: Task, prompts, answers) -> np.ndarray:
    """V(x, y_<t) = P(the outcome is 1 | x, y_<t) under the model, exactly, shape (n, T).

    The best baseline a critic can learn for token t: the expected outcome given everything
    written before it. For each distinct prompt, every one of the V^T answers is enumerated
    once; with p(y) their probabilities and R(y) their outcomes, the value of a prefix of t
    tokens is the sum of p R over its completions divided by the sum of p (the answers are
    ordered first token most significant, so a prefix's completions are one block of them).
    """
    if task.eos is not None:
        raise ValueError("exact_prefix_values enumerates fixed-length answers; this task stops")
    prompts = np.asarray(prompts, dtype=np.int64).reshape(len(answers), -1)
    answers = np.asarray(answers, dtype=np.int64)
    V, T = task.vocab, task.length
    everything = task.all_answers()
    values = np.zeros(answers.shape)
    for prompt in np.unique(prompts, axis=0):
        rows = (prompts == prompt).all(axis=1)
        with torch.no_grad():
            p = answer_probabilities(model, task, prompt, everything).double().numpy()
        r = task.outcome(np.tile(prompt, (len(everything), 1)), everything)
        for t in range(T):
            blocks = V**t  # the prefixes of t tokens; each owns V^(T-t) consecutive answers
            value = (p * r).reshape(blocks, -1).sum(axis=1) / p.reshape(blocks, -1).sum(axis=1)
            index = answers[rows, :t] @ (V ** np.arange(t - 1, -1, -1)) if t else 0
            values[rows, t] = value[index]
    return values


# ----------------------------------------------------------------------------------------------
# A learned baseline for every prefix: a critic.


def critic_values(critic: transformer.TinyLM, prompts, answers) -> torch.Tensor:
    """The critic's estimate of P(outcome | x, y_<t) for every answer and t, shape (n, T).

    The critic is a TinyLM with a value head; the head's logit at the input position that
    precedes y_t (BOS for t = 1) reads the prompt and y_<t only, since attention is causal.
    """
    start = np.asarray(prompts).reshape(len(answers), -1).shape[1]
    return torch.sigmoid(
        critic.value(transformer.model_inputs(critic, prompts, answers))[:, start:]
    )


def fit_critic(
    critic: transformer.TinyLM,
    prompts,
    answers,
    outcomes,
    steps: int,
    batch_size: int = 256,
    lr: float = 1e-2,
    seed: int = 0,
) -> float:
    """Fit the critic's value head, by logistic regression, to predict each answer's outcome
    from every one of its prefixes; `steps` Adam steps on minibatches. The rest of the
    network is left as it is. Returns the last minibatch's loss."""
    prompts, answers = np.asarray(prompts), np.asarray(answers)
    outcomes = torch.as_tensor(np.asarray(outcomes), dtype=torch.float32)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(critic.value_head.parameters(), lr=lr)
    for _ in range(steps):
        rows = rng.choice(len(answers), size=min(batch_size, len(answers)), replace=False)
        predicted = critic_values(critic, prompts[rows], answers[rows])
        target = outcomes[rows, None].expand_as(predicted)
        loss = torch.nn.functional.binary_cross_entropy(predicted, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


# ----------------------------------------------------------------------------------------------
# Training.


@dataclass(frozen=True)
class RLConfig:
    estimator: str = "single"  # "single" or "multi"
    baseline: str = "none"  # "none", "rloo" or "grpo"
    reward: str = "outcome"  # "outcome" or "process"
    group_size: int = 8  # answers per prompt
    groups: int = 1  # prompts per step
    lr: float = 1e-3
    optimizer: str = "adam"  # "adam" or "sgd" (plain gradient ascent: the step is lr * g)
    kl_coef: float = 0.0  # KL penalty to the model as it was when training started
    temperature: float = 1.0
    loss_type: str = "sum"  # how the loss divides its sum over tokens (`normalised_weights`)

    def __post_init__(self):
        for name, value, allowed in (
            ("estimator", self.estimator, ESTIMATORS),
            ("baseline", self.baseline, BASELINES),
            ("reward", self.reward, REWARDS),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("loss_type", self.loss_type, LOSS_TYPES),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}; got {value!r}")


@dataclass
class TrainLog:
    """Per step: answers sampled so far, the batch's mean outcome, and `evaluate`'s figure."""

    trajectories: list[int] = field(default_factory=list)
    batch_success: list[float] = field(default_factory=list)
    evaluated: list[tuple[int, float]] = field(default_factory=list)  # (trajectories, value)


def train_policy(
    model: transformer.TinyLM,
    task: Task,
    steps: int,
    config: RLConfig,
    seed: int = 0,
    evaluate=None,
    eval_every: int = 10,
    inspect=None,
) -> TrainLog:
    """REINFORCE on `task` for `steps` steps; the model is updated in place.

    Each step samples `groups * group_size` answers, weights their scores by `weights`, and
    takes one optimizer step (Adam or plain SGD) on `surrogate_loss`, masked to each answer's
    tokens up to its first EOS and divided as `config.loss_type` says. `evaluate(model) ->
    float`, if given, is called before the first step, every `eval_every` steps, and at the end.
    `inspect(model, batch, c)`, if given, sees every step's batch and weights c before the update.
    """
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    reference = copy.deepcopy(model).requires_grad_(False) if config.kl_coef else None
    optimizer = OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)
    log = TrainLog()
    sampled = 0
    for step in range(steps):
        if evaluate is not None and step % eval_every == 0:
            log.evaluated.append((sampled, evaluate(model)))
        batch = sample_batch(
            model, task, config.groups, config.group_size, rng, generator, config.temperature
        )
        r = rewards(task, batch.prompts, batch.answers, config.reward)
        c = weights(r, config.group_size, config.estimator, config.baseline)
        if inspect is not None:
            inspect(model, batch, c)
        mask = task.answer_mask(batch.answers)
        loss = surrogate_loss(model, batch, c, reference, config.kl_coef, config.loss_type, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        sampled += len(batch.answers)
        log.trajectories.append(sampled)
        log.batch_success.append(float(task.outcome(batch.prompts, batch.answers).mean()))
    if evaluate is not None:
        log.evaluated.append((sampled, evaluate(model)))
    return log


# ----------------------------------------------------------------------------------------------
# Reporting a figure over seeds.


def mean_interval(values, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The mean over `axis` (the runs, one per seed) and the half-width of its 95% interval,
    t s / sqrt(n) with Student's t for n - 1 degrees of freedom: the few seeds a run affords
    are too few for the normal 1.96.

    Raises ValueError when n - 1 is not in the table `T_975`.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    if n - 1 not in T_975:
        raise ValueError(
            f"a 95% interval here needs 2 to {max(T_975) + 1} runs (Student's t is tabulated "
            f"for 1 to {max(T_975)} degrees of freedom); got {n}"
        )
    half = T_975[n - 1] * values.std(axis=axis, ddof=1) / np.sqrt(n)
    return values.mean(axis=axis), half
