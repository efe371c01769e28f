"""Token tasks with exact verifiers and per-token rewards, each also a one-player `Game`.

A task asks a policy to write `length` tokens from a vocabulary of `vocab`, possibly after a
prompt of `prompt_length` tokens of the same vocabulary. Every task says, exactly and in numpy,
for a batch of prompts (n, P) and answers (n, T):

    outcome(prompts, answers)        (n,)   1.0 if the verifier accepts the answer, else 0.0
    token_rewards(prompts, answers)  (n, T) a per-token (process) reward r_t in {0, 1}
    demonstrations(prompts, rng)     (n, T) one correct answer per prompt, for pre-training

The outcome reward is what LLM RL usually gets: one number for the whole answer. The per-token
rewards are what a process reward model would give: a judgement of each step. Three tasks:

    CombinationLock(V, T)   a secret string; r_t = [y_t is the secret's token t]
    RunningSum(M, T)        the prompt is T numbers mod M, the answer their T partial sums;
                            r_t = [step t is right], outcome = [the last sum is right], so a
                            right final answer can rest on wrong steps
    DigitSum(B, T, N)       T digits in 0..B-1 that add up to N: many right answers, counted
                            exactly by dynamic programming; r_t = [y_<=t can still reach N]

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

from straw.estimators import all_sequences
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
        """counts[r][s] = number of r-digit strings summing to s, for s = 0 .. N (exact ints).

        counts[r][s] = sum_{d=0}^{B-1} counts[r-1][s-d], computed as a sliding window.
        """
        table = [[1] + [0] * self.target]
        for _ in range(self.length):
            previous, row, window = table[-1], [], 0
            for s in range(self.target + 1):
                window += previous[s]
                if s >= self.base:
                    window -= previous[s - self.base]
                row.append(window)
            table.append(row)
        return table

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
