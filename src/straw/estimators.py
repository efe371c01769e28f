"""Policy-gradient estimators, computed exactly by enumerating every sequence.

A policy here emits a sequence y = (y_1, ..., y_T) of tokens from a vocabulary of V, one token at
a time. Every policy in this module is a *tabular softmax over contexts*: token t is drawn from
softmax(logits[b_t]), where the row b_t = context(y_<t, t) depends on what came before. Choosing
the context function gives the policies the book compares:

    per-position   b_t = t             independent positions, a parameter block per position
    prefix         b_t = index(y_<t)   a general autoregressive policy, one block per prefix
    bigram         b_t = y_{t-1}       autoregressive with parameters shared across positions

The score of token t is S_t = d log pi(y_t | y_<t) / d logits, which is zero outside row b_t and
equals onehot(y_t) - softmax(logits[b_t]) inside it. Every REINFORCE estimator of the errata
(Jang 2026) is a weighted sum of scores, g(y) = sum_t c_t(y) S_t(y), and differs only in its
weights c_t:

    single-step   c_t = R(y) - b        R(y) = sum_k r_k, the whole sequence is one action
    multi-step    c_t = G_t - b         G_t = sum_{k>=t} r_k, the reward-to-go

With every sequence enumerated and weighted by its probability, the mean gradient and the trace
of the covariance of any such estimator are exact sums, not Monte Carlo estimates. The trace is
split term by term as in Var(X + Y) = Var X + Var Y + 2 Cov(X, Y): `term_covariances` returns
the T x T matrix C[i, j] = tr Cov(c_i S_i, c_j S_j) whose diagonal holds the T variance terms
and whose off-diagonal holds the T(T-1)/2 covariance pairs (twice each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

# Enumeration holds arrays of V^T x T x max(T, V) numbers: the scores (N, T, V) and the inner
# products of scores (N, T, T). These limits keep each array under 0.5 GB.
MAX_SEQUENCES = 2**20
MAX_ENTRIES = 2**26


@dataclass(frozen=True)
class Policy:
    """A tabular softmax policy: token t is drawn from softmax(logits[context(y_<t, t)]).

    `context(prefixes, t)` maps an (N, t) array of prefixes y_<t to the (N,) rows of `logits`
    that hold the logits of token t. Build one with `per_position`, `prefix_tree` or `bigram`.
    """

    logits: np.ndarray  # (rows, V)
    length: int  # T
    context: object  # callable (prefixes: (N, t) int array, t: int) -> (N,) int rows
    name: str = "policy"

    @property
    def vocab(self) -> int:
        return self.logits.shape[1]

    def probabilities(self) -> np.ndarray:
        """softmax of every row of logits, shape (rows, V)."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def rows(self, sequences: np.ndarray) -> np.ndarray:
        """The logits row b_t used for every token of every sequence, shape (N, T)."""
        return np.stack([self.context(sequences[:, :t], t) for t in range(self.length)], axis=1)


def per_position(logits=None, *, probs=None) -> Policy:
    """Independent positions: token t has its own row. Give `logits` or `probs`, shape (T, V).

    Probabilities may contain zeros (tokens the policy never emits); they must be nonnegative and
    each row must sum to one.
    """
    if (logits is None) == (probs is None):
        raise ValueError("give exactly one of logits or probs")
    logits = _as_logits(logits) if probs is None else _logits_from_probabilities(probs)
    return Policy(logits, logits.shape[0], _position_context, "per-position softmax")


def prefix_tree(vocab: int, length: int, logits=None, seed: int | None = None, scale=1.0):
    """A general autoregressive policy: one logits row for every prefix y_<t.

    Rows are numbered breadth first: the empty prefix is row 0, the V prefixes of length 1 are
    rows 1..V, and so on. Give `logits` of shape (sum_{t<T} V^t, V), or a `seed` to draw them
    from N(0, scale^2), or neither for the uniform policy.
    """
    check_enumerable(vocab, length)  # the table below has about V^T rows
    rows = sum(vocab**t for t in range(length))
    logits = _initial_logits(rows, vocab, logits, seed, scale)
    return Policy(logits, length, _PrefixContext(vocab), "prefix-tree softmax")


def bigram(vocab: int, length: int, logits=None, seed: int | None = None, scale=1.0):
    """An autoregressive policy with shared parameters: token t depends on token t-1 only.

    Row V is the start-of-sequence context. The same V + 1 rows serve every position, so the
    scores of different tokens can live in the same row, as in a language model whose weights
    are shared across positions.
    """
    logits = _initial_logits(vocab + 1, vocab, logits, seed, scale)
    return Policy(logits, length, _BigramContext(vocab), "bigram softmax")


# ----------------------------------------------------------------------------------------------
# Rewards and the weights c_t of each estimator. Per-token rewards have shape (N, T).


def sequence_return(rewards: np.ndarray) -> np.ndarray:
    """R(y) = sum_t r_t, shape (N,)."""
    return rewards.sum(axis=1)


def reward_to_go(rewards: np.ndarray) -> np.ndarray:
    """G_t = sum_{k >= t} r_k for every t, shape (N, T)."""
    return np.cumsum(rewards[:, ::-1], axis=1)[:, ::-1]


def past_rewards(rewards: np.ndarray) -> np.ndarray:
    """sum_{k < t} r_k for every t: what single-step adds to reward-to-go, shape (N, T)."""
    return np.cumsum(rewards, axis=1) - rewards


def single_step_weights(rewards: np.ndarray, baseline=0.0) -> np.ndarray:
    """c_t = R(y) - b for every t: the whole sequence is one action."""
    centred = sequence_return(rewards) - baseline
    return np.repeat(centred[:, None], rewards.shape[1], axis=1)


def multi_step_weights(rewards: np.ndarray, baseline=0.0) -> np.ndarray:
    """c_t = G_t - b: every token is an action scored by its reward-to-go."""
    return reward_to_go(rewards) - baseline


def terminal_reward(outcome: np.ndarray, length: int) -> np.ndarray:
    """Per-token rewards that are zero except for `outcome` (N,) at the last token."""
    rewards = np.zeros((len(outcome), length))
    rewards[:, -1] = outcome
    return rewards


# ----------------------------------------------------------------------------------------------
# Exact enumeration.


@dataclass(frozen=True)
class Enumeration:
    """Every sequence of a policy with what the estimators need.

    sequences (N, T) tokens; prob (N,) probability of each sequence; rows (N, T) the logits row
    of each token; scores (N, T, V) the nonzero part of S_t, onehot(y_t) - softmax(logits[b_t]);
    dots (N, T, T) the inner products S_i . S_j, zero unless tokens i and j share a row.
    """

    policy: Policy
    sequences: np.ndarray
    prob: np.ndarray
    rows: np.ndarray
    scores: np.ndarray
    dots: np.ndarray

    def expect(self, values: np.ndarray) -> np.ndarray:
        """E[values] under the policy, averaging over the first axis."""
        return np.tensordot(self.prob, values, axes=1)


def check_enumerable(vocab: int, length: int):
    """Raise a ValueError naming the limit if V^T sequences are too many to enumerate."""
    count = vocab**length  # a Python int: no overflow before the check
    if count > MAX_SEQUENCES:
        raise ValueError(
            f"V^T = {vocab}^{length} = {count} sequences is too many to enumerate; the limit is "
            f"MAX_SEQUENCES = {MAX_SEQUENCES} (2^20). Use fewer tokens or a smaller vocabulary, "
            "or estimate by Monte Carlo."
        )
    entries = count * length * max(length, vocab)
    if entries > MAX_ENTRIES:
        raise ValueError(
            f"V^T x T x max(T, V) = {entries} numbers per array is too many to enumerate; the "
            f"limit is MAX_ENTRIES = {MAX_ENTRIES} (2^26, 0.5 GB of float64). Use fewer tokens "
            "or a smaller vocabulary, or estimate by Monte Carlo."
        )


def all_sequences(vocab: int, length: int) -> np.ndarray:
    """Every one of the V^T sequences, shape (V^T, T): row n spells n in base V, first token
    most significant. Raises ValueError naming the limit when there are too many."""
    check_enumerable(vocab, length)
    return np.stack(np.unravel_index(np.arange(vocab**length), (vocab,) * length), axis=1)


def enumerate_sequences(policy: Policy) -> Enumeration:
    """All V^T sequences of `policy` with their probabilities and token scores."""
    vocab = policy.vocab
    sequences = all_sequences(vocab, policy.length)
    rows = policy.rows(sequences)
    token_probs = policy.probabilities()[rows]  # (N, T, V)
    chosen = np.take_along_axis(token_probs, sequences[..., None], axis=2)[..., 0]
    prob = chosen.prod(axis=1)
    scores = np.eye(vocab)[sequences] - token_probs
    same_row = rows[:, :, None] == rows[:, None, :]
    dots = np.einsum("ntv,nsv->nts", scores, scores) * same_row
    return Enumeration(policy, sequences, prob, rows, scores, dots)


def term_covariances(enum: Enumeration, weights: np.ndarray) -> np.ndarray:
    """C[i, j] = tr Cov(c_i S_i, c_j S_j), exactly, for weights c of shape (N, T).

    tr Cov(X, Y) = E[X . Y] - E[X] . E[Y]. Two scores meet in a dot product only when they
    use the same logits row (`Enumeration.dots`). The trace of the covariance of
    g = sum_t c_t S_t is C.sum().
    """
    second_moment = np.einsum("ni,nij,nj->ij", enum.prob[:, None] * weights, enum.dots, weights)
    means = token_mean_gradients(enum, weights)  # (T, rows * V)
    return second_moment - means @ means.T


def token_mean_gradients(enum: Enumeration, weights: np.ndarray) -> np.ndarray:
    """E[c_t S_t] for every t as a flat vector over the logits table, shape (T, rows * V)."""
    n_rows, vocab = enum.policy.logits.shape
    flat_index = enum.rows[..., None] * vocab + np.arange(vocab)  # (N, T, V)
    weighted = enum.prob[:, None, None] * weights[..., None] * enum.scores
    return np.stack(
        [
            np.bincount(flat_index[:, t].ravel(), weighted[:, t].ravel(), n_rows * vocab)
            for t in range(enum.policy.length)
        ]
    )


@dataclass(frozen=True)
class Moments:
    """Exact mean gradient (over the logits table) and covariance trace of one estimator."""

    mean: np.ndarray  # (rows, V)
    trace: float  # tr Cov(g) = E||g||^2 - ||E g||^2
    terms: np.ndarray  # (T, T) C[i, j] = tr Cov(c_i S_i, c_j S_j)

    @property
    def variance_terms(self) -> float:
        """sum_t tr Var(c_t S_t): the T diagonal terms."""
        return float(np.trace(self.terms))

    @property
    def covariance_terms(self) -> float:
        """2 sum_{i<j} tr Cov(c_i S_i, c_j S_j): the T(T-1)/2 pairs, counted twice."""
        return float(self.terms.sum() - np.trace(self.terms))


def exact_moments(enum: Enumeration, weights: np.ndarray) -> Moments:
    """The exact mean and covariance trace of g = sum_t c_t S_t under the policy."""
    terms = term_covariances(enum, weights)
    mean = token_mean_gradients(enum, weights).sum(axis=0)
    return Moments(mean.reshape(enum.policy.logits.shape), float(terms.sum()), terms)


def expected_return(enum: Enumeration, rewards: np.ndarray) -> float:
    """J = E[R(y)], exactly."""
    return float(enum.expect(sequence_return(rewards)))


def exact_policy_gradient(enum: Enumeration, rewards: np.ndarray) -> np.ndarray:
    """grad J = sum_y R(y) grad p(y) = E[R(y) sum_t S_t] (log-derivative trick), (rows, V)."""
    return exact_moments(enum, single_step_weights(rewards)).mean


def squared_norms(enum: Enumeration, weights: np.ndarray) -> np.ndarray:
    """||sum_t c_t S_t||^2 for every sequence, shape (N,)."""
    return np.einsum("nt,nts,ns->n", weights, enum.dots, weights)


def optimal_constant_baseline(enum: Enumeration, returns: np.ndarray) -> float:
    """b* = E[R ||S||^2] / E[||S||^2] with S = sum_t S_t (Greensmith et al. 2004).

    For g = (R - b) S the trace E||g||^2 - ||E g||^2 is a parabola in b (E[S] = 0, so the
    mean does not depend on b); b* is its lowest point.
    """
    norms = squared_norms(enum, np.ones((len(returns), enum.policy.length)))
    return float(enum.expect(returns * norms) / enum.expect(norms))


# ----------------------------------------------------------------------------------------------
# Monte Carlo: sample, then estimate the same quantities with their standard errors.


def sample_sequences(policy: Policy, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw n sequences token by token, shape (n, T)."""
    probs = policy.probabilities()
    sequences = np.zeros((n, policy.length), dtype=np.int64)
    for t in range(policy.length):
        p = probs[policy.context(sequences[:, :t], t)]  # (n, V)
        u = rng.random((n, 1))
        sequences[:, t] = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), policy.vocab - 1)
    return sequences


def tabular_gradients(policy: Policy, sequences: np.ndarray, weights: np.ndarray):
    """g(y) = sum_t c_t S_t for each sampled sequence, flat over the logits table: (n, rows*V)."""
    n_rows, vocab = policy.logits.shape
    rows = policy.rows(sequences)
    scores = np.eye(vocab)[sequences] - policy.probabilities()[rows]
    grads = np.zeros((len(sequences), n_rows * vocab))
    flat_index = rows[..., None] * vocab + np.arange(vocab)
    np.add.at(
        grads,
        (np.arange(len(sequences))[:, None, None], flat_index),
        weights[..., None] * scores,
    )
    return grads


@dataclass(frozen=True)
class MonteCarlo:
    """Sample estimates with standard errors, from n independent draws of g."""

    mean: np.ndarray  # (rows * V,)
    mean_stderr: np.ndarray  # (rows * V,)
    second_moment: float  # estimate of E||g||^2
    second_moment_stderr: float
    trace: float  # unbiased estimate of tr Cov(g)


def monte_carlo(policy: Policy, reward_fn, weight_fn, n: int, seed: int) -> MonteCarlo:
    """Estimate the moments of an estimator from n sampled sequences.

    `reward_fn(sequences) -> (n, T)` per-token rewards; `weight_fn(rewards) -> (n, T)` weights,
    e.g. `single_step_weights` or `multi_step_weights`.
    """
    rng = np.random.default_rng(seed)
    sequences = sample_sequences(policy, n, rng)
    grads = tabular_gradients(policy, sequences, weight_fn(reward_fn(sequences)))
    squared_norms = (grads**2).sum(axis=1)
    return MonteCarlo(
        mean=grads.mean(axis=0),
        mean_stderr=grads.std(axis=0, ddof=1) / np.sqrt(n),
        second_moment=float(squared_norms.mean()),
        second_moment_stderr=float(squared_norms.std(ddof=1) / np.sqrt(n)),
        trace=float(grads.var(axis=0, ddof=1).sum()),
    )


# ----------------------------------------------------------------------------------------------
# Symbolic: the softmax and its score, for V symbolic logits.


def symbolic_softmax(vocab: int, name: str = "z"):
    """Symbolic logits z_0..z_{V-1} and the softmax probabilities p_i = e^{z_i} / sum_j e^{z_j}."""
    logits = sp.symbols(f"{name}_0:{vocab}", real=True)
    partition = sum(sp.exp(z) for z in logits)
    return logits, [sp.exp(z) / partition for z in logits]


def symbolic_score(vocab: int, action: int, name: str = "z"):
    """d log p_action / d z as a list of V symbolic expressions."""
    logits, probs = symbolic_softmax(vocab, name)
    return [sp.simplify(sp.diff(sp.log(probs[action]), z)) for z in logits]


# ----------------------------------------------------------------------------------------------
# Helpers.


def _as_logits(logits) -> np.ndarray:
    logits = np.asarray(logits, dtype=float)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (rows, V); got shape {logits.shape}")
    # -inf is allowed (a token of probability zero), as long as every row can emit something.
    if np.isnan(logits).any() or (logits == np.inf).any() or not np.isfinite(logits.max(1)).all():
        raise ValueError("logits must be finite or -inf, with a finite entry in every row")
    return logits


def _logits_from_probabilities(probs) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (T, V); got shape {probs.shape}")
    if np.isnan(probs).any():
        raise ValueError("probabilities must be numbers; got NaN")
    if (probs < 0).any():
        raise ValueError(f"probabilities must be nonnegative; got minimum {probs.min()}")
    sums = probs.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
        worst = int(np.argmax(np.abs(sums - 1)))
        raise ValueError(f"each row of probs must sum to one; row {worst} sums to {sums[worst]}")
    with np.errstate(divide="ignore"):
        return np.log(probs)


def _initial_logits(rows, vocab, logits, seed, scale) -> np.ndarray:
    if logits is not None:
        logits = _as_logits(logits)
        if logits.shape != (rows, vocab):
            raise ValueError(f"logits must have shape ({rows}, {vocab}); got {logits.shape}")
        return logits
    if seed is None:
        return np.zeros((rows, vocab))
    return scale * np.random.default_rng(seed).standard_normal((rows, vocab))


def _position_context(prefixes: np.ndarray, t: int) -> np.ndarray:
    return np.full(len(prefixes), t)


@dataclass(frozen=True)
class _PrefixContext:
    vocab: int

    def __call__(self, prefixes: np.ndarray, t: int) -> np.ndarray:
        # Breadth-first numbering: prefixes of length t start after all shorter ones.
        offset = sum(self.vocab**k for k in range(t))
        digits = self.vocab ** np.arange(t - 1, -1, -1)
        return offset + prefixes @ digits


@dataclass(frozen=True)
class _BigramContext:
    vocab: int

    def __call__(self, prefixes: np.ndarray, t: int) -> np.ndarray:
        return prefixes[:, -1] if t > 0 else np.full(len(prefixes), self.vocab)


def loglog_slope(x, y) -> float:
    """The exponent k of a least-squares fit y ~ a x^k on log-log axes."""
    slope, _ = np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)
    return float(slope)


def entropy(p):
    """The entropy in nats of each distribution along the last axis of `p`, each first divided by
    its sum (so a prior restricted to the legal moves needs no renormalising); zero entries count
    for nothing. A float for one distribution, an array for many."""
    p = np.asarray(p, dtype=float)
    p = p / p.sum(axis=-1, keepdims=True)
    h = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)
    return float(h) if h.ndim == 0 else h
