"""Token tasks with exact verifiers and per-token rewards, each also a one-player `Game`.

A task asks a policy to write `length` tokens from a vocabulary of `vocab`, possibly after a
prompt of `prompt_length` tokens of the same vocabulary. Every task says, exactly and in numpy,
for a batch of prompts (n, P) and answers (n, T):

    outcome(prompts, answers)        (n,)   1.0 if the verifier accepts the answer, else 0.0
    token_rewards(prompts, answers)  (n, T) a per-token (process) reward r_t in {0, 1}
    demonstrations(prompts, rng)     (n, T) one correct answer per prompt, for pre-training

The outcome reward is what LLM RL usually gets: one number for the whole answer. The per-token
rewards are what a process reward model would give: a judgement of each step. Five tasks:

    CombinationLock(V, T)   a secret string; r_t = [y_t is the secret's token t]
    RunningSum(M, T)        the prompt is T numbers mod M, the answer their T partial sums;
                            r_t = [step t is right], outcome = [the last sum is right], so a
                            right final answer can rest on wrong steps
    DigitSum(B, T, N)       T digits in 0..B-1 that add up to N: many right answers, counted
                            exactly by dynamic programming; r_t = [y_<=t can still reach N]
    TargetSum(B, T, Ns)     DigitSum with N named by the prompt, one of Ns: prompts of
                            different difficulty
    DigitSumEOS(B, T, N)    digits 1..B-1 adding up to N, then an end-of-sequence token 0:
                            right answers of several lengths, the rest of the T tokens padding

A task with an end-of-sequence token (`eos`) has answers of variable length: `answer_mask` is
True up to and including the first EOS, and `answer_lengths` counts those tokens. Every other
task's mask is all True: each of its answers is T tokens long.

`task.game(prompt)` is the same task as a one-player game for `straw.mcts`: the state is the
prompt and the tokens written so far, every token is a legal action until `length` are written,
`to_play` is always +1 and the outcome is the verifier's 0 or 1 (the probability of success,
which the search backs up unchanged since a one-player game never flips sign).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from straw.estimators import MAX_SEQUENCES, all_sequences
from straw.game import IllegalMove

# The largest vocabulary a task (and the search over its tokens) accepts: the book's V sweep
# ends here, and a root of 4096 children is the most a CPU search visits in reasonable time.
MAX_VOCAB = 4096
# The longest answer; the tiny language model's context holds the prompt and the answer.
MAX_LENGTH = 64


class Task:
    """What every token task provides; subclasses are frozen dataclasses (hashable values)."""

    vocab: int  # V: tokens are 0 .. V-1
    length: int  # T: tokens in an answer
    prompt_length: ClassVar[int] = 0  # P: tokens in a prompt (0: every prompt is empty)
    eos: ClassVar[int | None] = None  # the end-of-sequence token, for tasks whose answers stop

    def sample_prompts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n prompts, shape (n, P); tasks without a prompt return an (n, 0) array."""
        return np.zeros((n, 0), dtype=np.int64)

    def outcome(self, prompts, answers) -> np.ndarray:
        """1.0 where the verifier accepts the answer, else 0.0, shape (n,)."""
        raise NotImplementedError

    def token_rewards(self, prompts, answers) -> np.ndarray:
        """The per-token (process) reward r_t in {0, 1}, shape (n, T)."""
        raise NotImplementedError

    def demonstrations(self, prompts, rng: np.random.Generator) -> np.ndarray:
        """One correct answer per prompt, shape (n, T)."""
        raise NotImplementedError

    def optimal_value(self, prompt, prefix) -> float:
        """The best outcome any completion of `prefix` can reach (1.0 or 0.0)."""
        raise NotImplementedError

    def uniform_value(self, prompt, prefix) -> float:
        """The success probability of completing `prefix` with uniformly random tokens."""
        raise NotImplementedError

    # Shared by every task.

    def check(self, prompts, answers) -> tuple[np.ndarray, np.ndarray]:
        """Validate a batch and return it as int64 arrays (n, P) and (n, T).

        Raises ValueError for a wrong shape or a token id outside 0 .. V-1.
        """
        prompts = np.asarray(prompts)
        answers = np.asarray(answers)
        if answers.ndim != 2 or answers.shape[1] != self.length:
            raise ValueError(f"answers must have shape (n, {self.length}); got {answers.shape}")
        if prompts.ndim != 2 or prompts.shape != (len(answers), self.prompt_length):
            raise ValueError(
                f"prompts must have shape ({len(answers)}, {self.prompt_length}); "
                f"got {prompts.shape}"
            )
        for name, tokens in (("answers", answers), ("prompts", prompts)):
            check_tokens(tokens, self.vocab, name)
        return prompts.astype(np.int64), answers.astype(np.int64)

    def all_answers(self) -> np.ndarray:
        """Every one of the V^T answers, shape (V^T, T), first token most significant.

        Raises ValueError naming the limit (`straw.estimators.MAX_SEQUENCES`) when too many.
        """
        return all_sequences(self.vocab, self.length)

    def answer_mask(self, answers) -> np.ndarray:
        """True where a token belongs to the answer, shape (n, T): up to and including the first
        `eos`, everything if there is none. A task without an end-of-sequence token has every
        answer T tokens long, so its mask is all True.

        Raises ValueError for a wrong shape or a token id outside 0 .. V-1.
        """
        answers = np.asarray(answers)
        if answers.ndim != 2 or answers.shape[1] != self.length:
            raise ValueError(f"answers must have shape (n, {self.length}); got {answers.shape}")
        check_tokens(answers, self.vocab, "answers")
        if self.eos is None:
            return np.ones(answers.shape, dtype=bool)
        # Positions after the first EOS: some earlier position holds an EOS.
        seen = np.cumsum(answers == self.eos, axis=1)
        return (seen - (answers == self.eos)) == 0

    def answer_lengths(self, answers) -> np.ndarray:
        """|o|: the tokens of each answer that `answer_mask` keeps, EOS included, shape (n,)."""
        return self.answer_mask(answers).sum(axis=1)

    def game(self, prompt=()) -> TokenGame:
        """The task for one prompt as a one-player game, at its start (nothing written yet)."""
        prompt = tuple(int(token) for token in np.asarray(prompt, dtype=np.int64).ravel())
        if len(prompt) != self.prompt_length:
            raise ValueError(f"a prompt has {self.prompt_length} tokens; got {len(prompt)}")
        check_tokens(np.asarray(prompt, dtype=np.int64), self.vocab, "prompt")
        return TokenGame(self, prompt)


def check_tokens(tokens: np.ndarray, vocab: int, name: str = "tokens"):
    """Raise ValueError if any token id is outside 0 .. vocab-1 or not an integer."""
    tokens = np.asarray(tokens)
    if tokens.size == 0:
        return
    if not np.issubdtype(tokens.dtype, np.integer):
        raise ValueError(f"{name} must be integer token ids; got dtype {tokens.dtype}")
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= vocab:
        bad = low if low < 0 else high
        raise ValueError(f"{name}: token id {bad} is outside the vocabulary 0..{vocab - 1}")


def digit_string_counts(digits: range, length: int, target: int) -> list[list[int]]:
    """table[r][s] = number of r-digit strings over `digits` summing to s, for r = 0 .. length
    and s = 0 .. target (exact ints).

    table[r][s] = sum_{d in digits} table[r-1][s-d]: a window over the previous row, which
    gains the term s - digits.start and loses the term s - digits.stop as s grows by one.
    """
    table = [[1] + [0] * target]
    for _ in range(length):
        previous, row, window = table[-1], [], 0
        for s in range(target + 1):
            if s >= digits.start:
                window += previous[s - digits.start]
            if s >= digits.stop:
                window -= previous[s - digits.stop]
            row.append(window)
        table.append(row)
    return table


def _check_size(vocab: int, length: int):
    if not 2 <= vocab <= MAX_VOCAB:
        raise ValueError(f"vocab must be between 2 and MAX_VOCAB = {MAX_VOCAB}; got {vocab}")
    if not 1 <= length <= MAX_LENGTH:
        raise ValueError(f"length must be between 1 and MAX_LENGTH = {MAX_LENGTH}; got {length}")


# ----------------------------------------------------------------------------------------------
# The tasks.


@dataclass(frozen=True)
class CombinationLock(Task):
    """A secret string of `length` tokens: the answer is right only if every token is.

    The secret is drawn from `seed`, or given. One success in V^T for a uniform policy: the
    hardest case for an outcome reward, and an easy one for per-token rewards.
    """

    vocab: int
    length: int
    seed: int = 0
    secret: tuple[int, ...] | None = None

    def __post_init__(self):
        _check_size(self.vocab, self.length)
        if self.secret is None:
            rng = np.random.default_rng(self.seed)
            drawn = rng.integers(self.vocab, size=self.length)
            object.__setattr__(self, "secret", tuple(int(token) for token in drawn))
        if len(self.secret) != self.length:
            raise ValueError(f"the secret must have {self.length} tokens; got {len(self.secret)}")
        check_tokens(np.asarray(self.secret), self.vocab, "secret")

    def token_rewards(self, prompts, answers):
        _, answers = self.check(prompts, answers)
        return (answers == np.asarray(self.secret)).astype(float)

    def outcome(self, prompts, answers):
        return self.token_rewards(prompts, answers).all(axis=1).astype(float)

    def demonstrations(self, prompts, rng):
        return np.tile(np.asarray(self.secret, dtype=np.int64), (len(prompts), 1))

    def optimal_value(self, prompt, prefix):
        return float(tuple(prefix) == self.secret[: len(prefix)])

    def uniform_value(self, prompt, prefix):
        return self.optimal_value(prompt, prefix) / self.vocab ** (self.length - len(prefix))


@dataclass(frozen=True)
class RunningSum(Task):
    """Write the running sums mod M of the prompt's T numbers, one partial sum per step.

    Prompt x_1..x_T, answer y_1..y_T; step t is right when y_t = (x_1 + ... + x_t) mod M. The
    verifier checks only the final sum y_T, as an outcome reward would: an answer whose steps are
    wrong can still end on the right number (`right_answer_wrong_steps`).
    """

    modulus: int
    length: int

    @property
    def vocab(self) -> int:
        return self.modulus

    @property
    def prompt_length(self) -> int:  # type: ignore[override]
        return self.length

    def __post_init__(self):
        _check_size(self.modulus, self.length)

    def sample_prompts(self, n, rng):
        return rng.integers(self.modulus, size=(n, self.length))

    def partial_sums(self, prompts) -> np.ndarray:
        """The right answer: (x_1 + ... + x_t) mod M for every t, shape (n, T)."""
        return np.cumsum(np.asarray(prompts, dtype=np.int64), axis=1) % self.modulus

    def token_rewards(self, prompts, answers):
        prompts, answers = self.check(prompts, answers)
        return (answers == self.partial_sums(prompts)).astype(float)

    def outcome(self, prompts, answers):
        return self.token_rewards(prompts, answers)[:, -1]

    def right_answer_wrong_steps(self, prompts, answers) -> np.ndarray:
        """True where the final sum is right although some earlier step is wrong, shape (n,)."""
        steps = self.token_rewards(prompts, answers).astype(bool)
        return steps[:, -1] & ~steps[:, :-1].all(axis=1)

    def demonstrations(self, prompts, rng):
        check_tokens(prompts, self.vocab, "prompts")
        return self.partial_sums(prompts)

    def optimal_value(self, prompt, prefix):
        if len(prefix) < self.length:
            return 1.0  # the last token can always be the right sum
        return float(prefix[-1] == self.partial_sums(np.asarray([prompt]))[0, -1])

    def uniform_value(self, prompt, prefix):
        if len(prefix) < self.length:
            return 1.0 / self.modulus
        return self.optimal_value(prompt, prefix)


@dataclass(frozen=True)
class DigitSum(Task):
    """T digits in 0..B-1 whose sum is N: many right answers, all counted by a DP.

    `completions(r, s)` is the number of r-digit strings summing to s (an exact integer), from
    which come the exact value of any prefix and uniform sampling of right answers.
    """

    base: int
    length: int
    target: int

    @property
    def vocab(self) -> int:
        return self.base

    def __post_init__(self):
        _check_size(self.base, self.length)
        top = (self.base - 1) * self.length
        if not 0 <= self.target <= top:
            raise ValueError(
                f"target must be between 0 and (B-1)*T = {top}, so some answer reaches it; "
                f"got {self.target}"
            )

    @cached_property
    def counts(self) -> list[list[int]]:
        """counts[r][s] = number of r-digit strings summing to s, for s = 0 .. N (exact ints)."""
        return digit_string_counts(range(self.base), self.length, self.target)

    def completions(self, remaining_length: int, remaining_sum: int) -> int:
        """How many strings of `remaining_length` digits sum to `remaining_sum`."""
        if not 0 <= remaining_sum <= self.target:
            return 0
        return self.counts[remaining_length][remaining_sum]

    @property
    def solutions(self) -> int:
        """The number of right answers."""
        return self.completions(self.length, self.target)

    def token_rewards(self, prompts, answers):
        _, answers = self.check(prompts, answers)
        sums = np.cumsum(answers, axis=1)
        remaining = self.length - np.arange(1, self.length + 1)
        # r_t = [the target can still be reached]: 0 <= N - sum_{<=t} <= (B-1)(T-t).
        left = self.target - sums
        return ((left >= 0) & (left <= (self.base - 1) * remaining)).astype(float)

    def outcome(self, prompts, answers):
        _, answers = self.check(prompts, answers)
        return (answers.sum(axis=1) == self.target).astype(float)

    def demonstrations(self, prompts, rng):
        """Right answers drawn uniformly from all `solutions` of them, digit by digit."""
        answers = np.zeros((len(prompts), self.length), dtype=np.int64)
        for i in range(len(prompts)):
            left = self.target
            for t in range(self.length):
                rest = self.length - t - 1
                weights = np.array(
                    [self.completions(rest, left - d) for d in range(self.base)], dtype=float
                )
                digit = int(rng.choice(self.base, p=weights / weights.sum()))
                answers[i, t] = digit
                left -= digit
        return answers

    def optimal_value(self, prompt, prefix):
        left, rest = self.target - sum(prefix), self.length - len(prefix)
        return float(0 <= left <= (self.base - 1) * rest)

    def uniform_value(self, prompt, prefix):
        rest = self.length - len(prefix)
        return self.completions(rest, self.target - sum(prefix)) / self.base**rest


@dataclass(frozen=True)
class TargetSum(Task):
    """DigitSum with the target in the prompt: prompts of different difficulty.

    Each prompt names one of `targets` N, written in base B with the most significant digit
    first; the answer is T digits in 0..B-1 that add up to N. How many answers are right, and
    so how hard a prompt is, depends on N: this is the setting in which a baseline computed per
    prompt (RLOO, GRPO) has something to remove, the difference between prompts. Prompts are
    drawn uniformly from `targets`.
    """

    base: int
    length: int
    targets: tuple[int, ...]

    @property
    def vocab(self) -> int:
        return self.base

    @property
    def prompt_length(self) -> int:  # type: ignore[override]
        top, digits = (self.base - 1) * self.length, 1
        while self.base**digits <= top:
            digits += 1
        return digits

    def __post_init__(self):
        _check_size(self.base, self.length)
        if not self.targets:
            raise ValueError("targets must name at least one sum")
        for target in self.targets:
            DigitSum(self.base, self.length, target)  # raises for a sum no answer reaches

    @cached_property
    def by_target(self) -> dict[int, DigitSum]:
        """The DigitSum task of each target, which counts its right answers exactly."""
        return {target: DigitSum(self.base, self.length, target) for target in self.targets}

    def encode(self, target: int) -> np.ndarray:
        """The prompt that names `target`, shape (P,)."""
        if target not in self.by_target:
            raise ValueError(f"target {target} is not one of {self.targets}")
        powers = self.base ** np.arange(self.prompt_length - 1, -1, -1)
        return (target // powers) % self.base

    def decode(self, prompts) -> np.ndarray:
        """The target each prompt names, shape (n,); ValueError for one not in `targets`."""
        prompts = np.asarray(prompts, dtype=np.int64).reshape(-1, self.prompt_length)
        powers = self.base ** np.arange(self.prompt_length - 1, -1, -1)
        named = prompts @ powers
        unknown = sorted(set(named.tolist()) - set(self.targets))
        if unknown:
            raise ValueError(f"prompts name sums {unknown}, not among the targets {self.targets}")
        return named

    def sample_prompts(self, n, rng):
        chosen = rng.choice(np.asarray(self.targets), size=n)
        return np.stack([self.encode(int(target)) for target in chosen]).reshape(n, -1)

    def token_rewards(self, prompts, answers):
        prompts, answers = self.check(prompts, answers)
        return np.stack(
            [
                self.by_target[int(target)].token_rewards(np.zeros((1, 0)), answer[None])[0]
                for target, answer in zip(self.decode(prompts), answers, strict=True)
            ]
        ).reshape(answers.shape)

    def outcome(self, prompts, answers):
        prompts, answers = self.check(prompts, answers)
        return (answers.sum(axis=1) == self.decode(prompts)).astype(float)

    def demonstrations(self, prompts, rng):
        check_tokens(np.asarray(prompts), self.vocab, "prompts")
        return np.stack(
            [
                self.by_target[int(target)].demonstrations(np.zeros((1, 0)), rng)[0]
                for target in self.decode(prompts)
            ]
        ).reshape(len(prompts), self.length)

    def optimal_value(self, prompt, prefix):
        return self.by_target[int(self.decode(prompt)[0])].optimal_value((), prefix)

    def uniform_value(self, prompt, prefix):
        return self.by_target[int(self.decode(prompt)[0])].uniform_value((), prefix)


@dataclass(frozen=True)
class DigitSumEOS(Task):
    """Digits that add up to N, then an end-of-sequence token: right answers of many lengths.

    Token 0 is the EOS (`eos`) and tokens 1..B-1 are the digits. An answer is its tokens up to
    and including the first EOS; generation still writes T tokens, and whatever follows the
    first EOS is padding that neither the verifier nor `answer_mask` looks at. The verifier
    accepts an answer that stops (has an EOS) and whose digits before the EOS sum to N; one
    that runs to T tokens without an EOS is wrong, whatever its digits (a truncated answer).
    A right answer of k digits has length k + 1, so N = 6 with B = 6 and T = 6 has right
    answers of lengths 3 to 6 (5, 10, 10 and 5 of them).

    `counts[k][s]` is the number of k-digit strings over 1..B-1 summing to s, from which come
    the exact value of any prefix and uniform sampling of right answers, as for `DigitSum`.
    `all_answers` lists each distinct answer once, padded with EOS: sequences equal up to their
    first EOS are the same answer, and its probability is the product of the probabilities of
    its tokens up to and including that EOS.
    """

    base: int
    length: int
    target: int
    eos: ClassVar[int] = 0

    @property
    def vocab(self) -> int:
        return self.base

    def __post_init__(self):
        _check_size(self.base, self.length)
        top = (self.base - 1) * (self.length - 1)
        if not 0 <= self.target <= top:
            raise ValueError(
                f"target must be between 0 and (B-1)*(T-1) = {top}, so that some answer reaches "
                f"it and still has room for its EOS; got {self.target}"
            )

    @cached_property
    def counts(self) -> list[list[int]]:
        """counts[k][s] = number of k-digit strings over 1..B-1 summing to s, s = 0 .. N."""
        return digit_string_counts(range(1, self.base), self.length, self.target)

    def completions(self, remaining_length: int, remaining_sum: int) -> int:
        """How many right endings (k digits summing to `remaining_sum`, then the EOS) fit in
        `remaining_length` positions: sum_{k=0}^{r-1} counts[k][s]. Padding is not counted."""
        if not 0 <= remaining_sum <= self.target:
            return 0
        return sum(self.counts[k][remaining_sum] for k in range(remaining_length))

    @property
    def solutions(self) -> int:
        """The number of right answers."""
        return self.completions(self.length, self.target)

    def outcome(self, prompts, answers):
        _, answers = self.check(prompts, answers)
        stops = (answers == self.eos).any(axis=1)
        # The EOS is token 0, so summing the masked tokens sums the digits before it.
        digits = np.where(self.answer_mask(answers), answers, 0).sum(axis=1)
        return (stops & (digits == self.target)).astype(float)

    def token_rewards(self, prompts, answers):
        """r_t = [y_<=t can still be completed to a right answer] up to the first EOS (at the
        EOS itself, the outcome), and 0 on the padding after it."""
        _, answers = self.check(prompts, answers)
        mask = self.answer_mask(answers)
        is_eos = answers == self.eos
        left = self.target - np.cumsum(np.where(mask, answers, 0), axis=1)
        # Before the EOS, k more digits and the EOS need k + 1 <= T - t positions.
        rest = self.length - np.arange(1, self.length + 1) - 1
        reachable = (left >= 0) & (left <= (self.base - 1) * rest)
        stopped = np.cumsum(is_eos, axis=1) > 0
        return np.where(stopped, is_eos & mask & (left == 0), reachable).astype(float)

    def demonstrations(self, prompts, rng):
        """Right answers drawn uniformly from all `solutions` of them, token by token, padded
        with EOS after their EOS."""
        n, T = len(prompts), self.length
        # ways[r, s] = completions(r, s): the sampling weight of a prefix that leaves r, s.
        ways = np.array(
            [[self.completions(r, s) for s in range(self.target + 1)] for r in range(T + 1)],
            dtype=float,
        )
        answers = np.full((n, T), self.eos, dtype=np.int64)
        left, done = np.full(n, self.target), np.zeros(n, dtype=bool)
        for t in range(T):
            weights = np.zeros((n, self.base))
            weights[:, self.eos] = (left == 0) | done
            for d in range(1, self.base):
                after = left - d
                weight = ways[T - t - 1, np.maximum(after, 0)]
                weights[:, d] = np.where((after >= 0) & ~done, weight, 0)
            cumulative = np.cumsum(weights, axis=1)
            draw = rng.random(n) * cumulative[:, -1]
            answers[:, t] = (cumulative <= draw[:, None]).sum(axis=1)
            left = left - answers[:, t]
            done |= answers[:, t] == self.eos
        return answers

    def optimal_value(self, prompt, prefix):
        prefix = tuple(prefix)
        if self.eos in prefix:
            return float(sum(prefix[: prefix.index(self.eos)]) == self.target)
        left = self.target - sum(prefix)
        return float(0 <= left <= (self.base - 1) * (self.length - len(prefix) - 1))

    def uniform_value(self, prompt, prefix):
        prefix = tuple(prefix)
        if self.eos in prefix:
            return self.optimal_value(prompt, prefix)
        rest, left = self.length - len(prefix), self.target - sum(prefix)
        if not 0 <= left <= self.target:
            return 0.0
        # k more digits, then the EOS: k + 1 tokens each right with probability 1/B.
        numerator = sum(self.counts[k][left] * self.base ** (rest - 1 - k) for k in range(rest))
        return numerator / self.base**rest

    def all_answers(self) -> np.ndarray:
        """Every distinct answer once, EOS-padded, shape (count, T): first those that stop, by
        the number of digits before their EOS, then the (B-1)^T that never stop.

        Raises ValueError naming the limit (`straw.estimators.MAX_SEQUENCES`) when too many.
        """
        digits, T = self.base - 1, self.length
        count = sum(digits**k for k in range(T + 1))
        if count > MAX_SEQUENCES:
            raise ValueError(
                f"{count} distinct answers are too many to enumerate; the limit is "
                f"MAX_SEQUENCES = {MAX_SEQUENCES} (2^20). Use fewer tokens or a smaller base."
            )
        blocks = []
        for k in range(T + 1):
            block = np.full((digits**k, T), self.eos, dtype=np.int64)
            if k:
                strings = np.unravel_index(np.arange(digits**k), (digits,) * k)
                block[:, :k] = np.stack(strings, axis=1) + 1
            blocks.append(block)
        return np.concatenate(blocks)


# ----------------------------------------------------------------------------------------------
# The task as a one-player game.


@dataclass(frozen=True)
class TokenGame:
    """A prompt and the tokens written so far; a `straw.game.Game` with one player.

    Equal (and hashed alike) when the task, the prompt and the prefix are equal. The outcome is
    the verifier's 1.0 or 0.0, from the view of the only player, +1.
    """

    task: Task
    prompt: tuple[int, ...] = ()
    prefix: tuple[int, ...] = ()

    @property
    def num_actions(self) -> int:
        return self.task.vocab

    @property
    def to_play(self) -> int:
        return 1

    def is_terminal(self) -> bool:
        return len(self.prefix) == self.task.length

    def legal_actions(self) -> list[int]:
        return [] if self.is_terminal() else list(range(self.task.vocab))

    def play(self, action: int) -> TokenGame:
        if self.is_terminal():
            raise IllegalMove(f"the answer is complete: all {self.task.length} tokens written")
        if not isinstance(action, int | np.integer) or not 0 <= action < self.task.vocab:
            top = self.task.vocab - 1
            raise IllegalMove(f"token {action!r} is outside the vocabulary 0..{top}")
        return TokenGame(self.task, self.prompt, (*self.prefix, int(action)))

    def outcome(self) -> float:
        if not self.is_terminal():
            raise ValueError("the answer is not complete: it has no outcome yet")
        return float(self.task.outcome(np.array([self.prompt]), np.array([self.prefix]))[0])

    def optimal_value(self) -> float:
        """The best outcome reachable from here (exact)."""
        return self.task.optimal_value(self.prompt, self.prefix)

    def uniform_value(self) -> float:
        """The success probability of finishing with uniformly random tokens (exact)."""
        return self.task.uniform_value(self.prompt, self.prefix)

    def __str__(self) -> str:
        answer = [*map(str, self.prefix), *"_" * (self.task.length - len(self.prefix))]
        head = [*map(str, self.prompt), "|"] if self.prompt else []
        return " ".join(head + answer)


# The Game contract's declarations (straw.game): one player, and the verifier's 0 or 1. They are
# set here, not in the class body, because chapter 10 shows that body and compares its output.
TokenGame.num_players = 1
TokenGame.outcome_range = (0.0, 1.0)
