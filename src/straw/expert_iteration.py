"""Expert iteration on token tasks: search with the model, then teach it the search's targets.

AlphaZero's learning loop (Silver et al. 2017; "expert iteration", Anthony et al. 2017) with a
language model in place of the policy network and a token task in place of Go:

    repeat:
        for every position of a few answers: search from it with `straw.mcts` (or the Gumbel root
            of `straw.gumbel`), the model giving the priors and the verifier the values
            (`model_evaluator`: one sampled completion per leaf, judged by the task's verifier)
        distil: a few gradient steps on the cross-entropy between the model's next-token
            distribution and the search's target, at every position searched

With rollout values every simulation costs one verifier call: a leaf inside the answer is valued
by one completion that the verifier judges, and a leaf at the end of the answer is judged
directly. With a learned value head (`value_head_evaluator`, AlphaZero's value network) only the
leaves at the end of an answer call the verifier, and the head learns from the outcome of every
answer written, one call each. `Log` counts them all, so the loop can be compared with
policy-gradient RL (`straw.policy_gradients`), whose every sampled answer is one verifier call,
at an equal number of calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from straw import gumbel, mcts, transformer
from straw.tokens import Task, TokenGame

SEARCHES = ("puct", "gumbel")
VALUES = ("rollout", "value_head")


@dataclass
class Counter:
    """Verifier calls made so far."""

    calls: int = 0


def complete(
    model: transformer.TinyLM, states: list[TokenGame], rng: np.random.Generator
) -> np.ndarray:
    """Finish every state's answer by sampling the model's next tokens; shape (n, T)."""
    task = states[0].task
    prompts = np.array([s.prompt for s in states], dtype=np.int64).reshape(len(states), -1)
    answers = [list(s.prefix) for s in states]
    while True:
        open_rows = [i for i, a in enumerate(answers) if len(a) < task.length]
        if not open_rows:
            return np.array(answers, dtype=np.int64)
        probs = transformer.next_token_probs(
            model, prompts[open_rows], [answers[i] for i in open_rows]
        )
        for i, p in zip(open_rows, probs, strict=True):
            answers[i].append(int(rng.choice(task.vocab, p=p / p.sum())))


def model_evaluator(
    model: transformer.TinyLM, rng: np.random.Generator, counter: Counter
) -> Callable[[list[TokenGame]], tuple[np.ndarray, np.ndarray]]:
    """evaluate(states) -> (priors, values) for `straw.mcts`: the model's next-token
    probabilities as priors, and as value the verifier's verdict on one completion sampled from
    the model (a rollout), counted in `counter`."""

    def evaluate(states):
        task = states[0].task
        prompts = np.array([s.prompt for s in states], dtype=np.int64).reshape(len(states), -1)
        priors = transformer.next_token_probs(model, prompts, [list(s.prefix) for s in states])
        answers = complete(model, states, rng)
        counter.calls += len(states)
        return priors, task.outcome(prompts, answers)

    return evaluate


def value_head_evaluator(model: transformer.TinyLM) -> Callable[[list[TokenGame]], tuple]:
    """evaluate(states) -> (priors, values): the model's next-token probabilities, and its value
    head's estimate of the success probability, sigmoid(v), after the prefix. No verifier call."""
    if model.value_head is None:
        raise ValueError("this model has no value head: build it with value_head=True")

    def evaluate(states):
        task = states[0].task
        prompts = np.array([s.prompt for s in states], dtype=np.int64).reshape(len(states), -1)
        prefixes = [list(s.prefix) for s in states]
        priors = transformer.next_token_probs(model, prompts, prefixes)
        # attention is causal: the tokens padded after a prefix do not change its value
        padded = np.array([p + [0] * (task.length - len(p)) for p in prefixes], dtype=np.int64)
        with torch.no_grad():
            logits = model.value(transformer.model_inputs(model, prompts, padded))
        where = prompts.shape[1] + np.array([len(p) for p in prefixes])
        return priors, torch.sigmoid(logits[np.arange(len(states)), where]).double().numpy()

    return evaluate


@dataclass
class Log:
    """Per iteration: verifier calls so far (search and rollouts), and `evaluate`'s figure."""

    verifier_calls: list[int] = field(default_factory=list)
    evaluated: list[tuple[int, float]] = field(default_factory=list)  # (calls, value)


def search_config(search: str = "puct", seed: int = 0):
    """How one search runs: PUCT's `straw.mcts.SearchConfig`, or the Gumbel root's
    `straw.gumbel.GumbelConfig`, which samples the tokens it considers with `seed`."""
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {SEARCHES}; got {search!r}")
    if search == "puct":
        return mcts.SearchConfig()
    return gumbel.GumbelConfig(seed=seed)


def search_states(
    states: list[TokenGame],
    evaluate: Callable[[list[TokenGame]], tuple],
    simulations: int,
    search: str,
    counter: Counter,
    seed: int = 0,
) -> list[mcts.SearchOutput]:
    """One search of `simulations` from every state (the Gumbel root of state i seeded with
    `seed + i`), side by side (`straw.mcts.search_batched`), so `evaluate` sees one batch per
    simulation; returns what each search found.

    Every simulation that does not end at a leaf to evaluate ends at a finished answer, which
    the verifier judges directly: those calls are added to `counter`. The calls `evaluate`
    makes itself (`model_evaluator`'s rollouts) it counts itself.
    """
    configs = [search_config(search, seed + i) for i in range(len(states))]
    evaluated = 0

    def counting(leaves):
        nonlocal evaluated
        evaluated += len(leaves)
        return evaluate(leaves)

    outputs = mcts.search_batched(states, counting, simulations, configs)
    counter.calls += simulations * len(states) - evaluated
    return outputs


def search_targets(
    model: transformer.TinyLM,
    task: Task,
    prompts: np.ndarray,
    simulations: int,
    search: str,
    rng: np.random.Generator,
    counter: Counter,
    seed: int = 0,
    values: str = "rollout",
) -> tuple[np.ndarray, np.ndarray]:
    """Write one answer to each prompt, searching before every token (`search_states`); returns
    the answers (n, T) and the search's target at every position (n, T, V)."""
    if values not in VALUES:
        raise ValueError(f"values must be one of {VALUES}; got {values!r}")
    if values == "rollout":
        evaluate = model_evaluator(model, rng, counter)
    else:
        evaluate = value_head_evaluator(model)
    states = [task.game(prompt) for prompt in prompts]
    targets = np.zeros((len(prompts), task.length, task.vocab))
    for t in range(task.length):
        outputs = search_states(states, evaluate, simulations, search, counter, seed + 1000 * t)
        for i, out in enumerate(outputs):
            targets[i, t] = out.action_weights
            if search == "puct":  # play as AlphaZero explores: sample from the visit counts
                action = int(rng.choice(task.vocab, p=targets[i, t]))
            else:
                action = out.action
            states[i] = states[i].play(action)
    return np.array([s.prefix for s in states], dtype=np.int64), targets


def gain(target: np.ndarray, prior: np.ndarray, right: int) -> float:
    """The share of the possible improvement on the right token that a target achieves,
    (target[right] - prior[right]) / (1 - prior[right]): 1 for a target with all its mass on the
    right token, 0 for one that leaves the prior's share as it was, negative for less."""
    return float((target[right] - prior[right]) / (1 - prior[right]))


def distil(
    model: transformer.TinyLM,
    optimizer: torch.optim.Optimizer,
    prompts: np.ndarray,
    answers: np.ndarray,
    targets: np.ndarray,
    steps: int,
    outcomes: np.ndarray | None = None,
) -> float:
    """`steps` gradient steps on the cross-entropy -sum_a target(a) log pi(a | prefix), averaged
    over every position of every answer; returns the last loss. Given the answers' `outcomes`,
    the value head also learns, by logistic regression, to predict them from every prefix."""
    target = torch.as_tensor(targets, dtype=torch.float32)
    for _ in range(steps):
        log_probs = transformer.next_token_log_probs(model, prompts, answers)
        loss = -(target * log_probs).sum(dim=-1).mean()
        if outcomes is not None:
            start = np.asarray(prompts).reshape(len(answers), -1).shape[1]
            logits = model.value(transformer.model_inputs(model, prompts, answers))[:, start:]
            outcome = torch.as_tensor(outcomes, dtype=logits.dtype)[:, None].expand_as(logits)
            loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(logits, outcome)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(loss.detach())


def expert_iteration(
    model: transformer.TinyLM,
    task: Task,
    iterations: int,
    answers_per_iteration: int,
    simulations: int,
    search: str = "puct",
    lr: float = 1e-3,
    distil_steps: int = 4,
    seed: int = 0,
    evaluate: Callable[[transformer.TinyLM], float] | None = None,
    values: str = "rollout",
) -> Log:
    """Alternate search and distillation `iterations` times; the model is updated in place.
    `values` is "rollout" (the verifier judges one sampled completion per leaf) or "value_head"
    (the model's own estimate, trained on the outcomes of the answers written).
    `evaluate(model)`, if given, is recorded before the first iteration and after each."""
    if simulations < 2:
        raise ValueError(
            f"a search needs at least 2 simulations (one expands the root); got {simulations}"
        )
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    counter = Counter()
    log = Log()
    if evaluate is not None:
        log.evaluated.append((0, evaluate(model)))
    for iteration in range(iterations):
        prompts = task.sample_prompts(answers_per_iteration, rng)
        answers, targets = search_targets(
            model, task, prompts, simulations, search, rng, counter, seed + 7919 * iteration, values
        )
        outcomes = None
        if values == "value_head":
            outcomes = task.outcome(prompts, answers)
            counter.calls += len(answers)
        distil(model, optimizer, prompts, answers, targets, distil_steps, outcomes)
        log.verifier_calls.append(counter.calls)
        if evaluate is not None:
            log.evaluated.append((counter.calls, evaluate(model)))
    return log
