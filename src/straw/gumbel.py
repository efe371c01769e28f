"""Gumbel root search: a policy target that improves on the prior with few simulations.

PUCT's target is the visit distribution N(a) / sum N. With more actions than simulations most
children are never visited, so the target throws away the prior mass of every unvisited action,
and the few visited children are seldom visited twice, so their counts say more about the order
in which PUCT tried them than about their values. Danihelka et al. (2022), "Policy improvement by
planning with Gumbel", replace the root of the search by three steps:

1. Sample `num_considered` actions without replacement from the prior, with the Gumbel-top-k
   trick: the top k of g(a) + logits(a), g ~ Gumbel(0, 1) (a search over K sampled actions, as
   in Sampled MuZero, Hubert et al. 2021).
2. Share the simulations among them by sequential halving (Karnin et al. 2013): visit every
   considered action equally, keep the better half by g + logits + sigma(q), repeat.
3. Train on pi'(a) = softmax(logits(a) + sigma(completed_q(a))), where completed_q is the
   search's value of each visited action and a mixed estimate of the state's value for every
   unvisited one, and sigma(q) = (c_visit + max_b N(b)) * c_scale * q is monotone in q.

The target of step 3 keeps the prior wherever the search learned nothing, and moves mass towards
actions the search found better than the state's value: it improves on the prior whenever the
values are right (as the paper proves), however few actions were visited.

`GumbelTree` is a `straw.mcts.Tree` whose root is chosen this way; below the root it walks by the
tree's ordinary rule (PUCT by default; the paper replaces that too, with a rule for non-root
nodes that we do not implement). It runs with `straw.mcts.run` and `run_batched` unchanged, so
the same evaluate function, the same games and the same count of evaluations serve both searches:
`straw.mcts.search(state, evaluate, n, GumbelConfig())` is the Gumbel search.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from straw import mcts


@dataclass(frozen=True)
class GumbelConfig:
    """Constants of Danihelka et al. (2022): c_visit = 50, c_scale = 1 on values in [0, 1]."""

    num_considered: int = 16  # actions sampled at the root (m in the paper)
    c_visit: float = 50.0
    c_scale: float = 1.0
    interior: mcts.PUCT | mcts.UCT = field(default_factory=mcts.PUCT)  # rule below the root
    seed: int = 0
    utility: Callable | None = None  # as `straw.mcts.SearchConfig.utility`
    # the Gumbel noise's scale: 1 in training, where it samples the move played; 0 at play time,
    # where the halving keeps the prior's top actions and plays the best (mctx's gumbel_scale)
    gumbel_scale: float = 1.0

    def new_tree(self, state, simulations: int) -> GumbelTree:
        """An unsearched Gumbel tree at `state`, its halving planned for `simulations`."""
        return GumbelTree(state, simulations, self)


def considered_visits(num_considered: int, simulations: int) -> list[int]:
    """Sequential halving as a schedule: entry k is the visit count that the root action chosen
    at simulation k must have. With m considered actions and n simulations there are
    ceil(log2 m) phases; each gives every surviving action max(1, n / (phases * survivors))
    more visits, then keeps half of them (at least two)."""
    if num_considered < 1 or simulations < 0:
        raise ValueError(
            "need num_considered >= 1 and simulations >= 0; "
            f"got num_considered={num_considered}, simulations={simulations}"
        )
    if num_considered == 1:
        return list(range(simulations))
    phases = math.ceil(math.log2(num_considered))
    schedule: list[int] = []
    survivors = num_considered
    visits = 0
    while len(schedule) < simulations:
        extra = max(1, simulations // (phases * survivors))
        for _ in range(extra):
            schedule.extend([visits] * survivors)
            visits += 1
        survivors = max(2, survivors // 2)
    return schedule[:simulations]


def completed_q(q: np.ndarray, visits: np.ndarray, prior: np.ndarray, value: float) -> np.ndarray:
    """Q of every action: the search's mean value where visited, else the mixed value
    v_mix = (value + sum N * sum_{visited} P(a) q(a) / sum_{visited} P(a)) / (1 + sum N),
    the network's value of the state moved towards the prior-weighted value of what was
    visited (the paper's Appendix D)."""
    visited = visits > 0
    total = visits.sum()
    if total > 0:
        weights = np.maximum(prior, np.finfo(float).tiny) * visited
        v_mix = (value + total * (weights @ q) / weights.sum()) / (1 + total)
    else:
        v_mix = value
    return np.where(visited, q, v_mix)


def sigma(q: np.ndarray, visits: np.ndarray, config: GumbelConfig) -> np.ndarray:
    """The monotone transform that turns values into logit offsets, after rescaling q to [0, 1]
    by its own range (as the paper does for values of unknown scale)."""
    spread = q.max() - q.min()
    normalized = (q - q.min()) / spread if spread > 1e-8 else np.zeros_like(q)
    return (config.c_visit + visits.max()) * config.c_scale * normalized


class GumbelTree(mcts.Tree):
    """A search tree whose root action, at every simulation, is chosen by Gumbel sequential
    halving. `simulations` is the budget `run` will be given (the schedule depends on it)."""

    def __init__(self, state, simulations: int, config: GumbelConfig | None = None):
        self.gumbel = config or GumbelConfig()
        g = self.gumbel
        super().__init__(state, mcts.SearchConfig(rule=g.interior, seed=g.seed, utility=g.utility))
        if state.is_terminal():
            raise ValueError("cannot search from a finished game")
        self.simulations = simulations
        self.root_value_estimate = 0.0  # evaluate's value of the root, for its player to move
        self.legal = np.array(state.legal_actions())
        self.noise = g.gumbel_scale * self.rng.gumbel(size=len(self.legal))
        num_considered = min(self.gumbel.num_considered, len(self.legal))
        # the first simulation only expands the root; the schedule covers the rest
        self.schedule = considered_visits(num_considered, max(simulations - 1, 0))

    def root_statistics(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log-prior, visit counts and mean values of the legal root actions (values from the
        view of the player to move at the root)."""
        root = self.root
        logits = np.log(np.maximum(root.priors, np.finfo(float).tiny))
        visits = root.child_visits.astype(float)
        q = root.child_means()
        return logits, visits, q

    def _root_scores(self, considered_visit: int) -> np.ndarray:
        """g + logits + sigma(completed q) for the actions with `considered_visit` visits, -inf
        for the rest: the actions still in the halving, and among them the one to visit."""
        logits, visits, q = self.root_statistics()
        prior = np.exp(logits)
        completed = completed_q(q, visits, prior, self.root_value_estimate)
        scores = self.noise + logits + sigma(completed, visits, self.gumbel)
        return np.where(visits == considered_visit, scores, -np.inf)

    def select_leaf(self) -> list[mcts.Node]:
        if not self.root.expanded:
            return [self.root]
        done = self.root.visit_count - 1  # the first simulation expanded the root
        if done >= len(self.schedule):
            raise ValueError(f"the tree was built for {self.simulations} simulations")
        slot = int(np.argmax(self._root_scores(self.schedule[done])))
        return self.descend([self.root, self.root.child(slot)])  # below the root: the ordinary rule

    def expand_and_backup(self, path, prior, value):
        if path[-1] is self.root and not self.root.expanded:
            self.root_value_estimate = float(value)
        super().expand_and_backup(path, prior, value)

    def best_action(self) -> int:
        """The action to play: the best of the most visited survivors of the halving."""
        _, visits, _ = self.root_statistics()
        return int(self.legal[int(np.argmax(self._root_scores(int(visits.max()))))])

    def improved_policy(self, temperature: float = 1.0) -> np.ndarray:
        """The training target softmax(logits + sigma(completed q)) over all actions (zero on
        illegal ones); temperature 0 gives the selected action. Other temperatures have no
        meaning here and are refused."""
        if not self.root.expanded:
            raise ValueError("no simulations have been run from this root")
        policy = np.zeros(self.root.state.num_actions)
        if temperature == 0:
            policy[self.best_action()] = 1.0
            return policy
        if temperature != 1:
            raise ValueError(f"Gumbel search targets have temperature 1 or 0, not {temperature}")
        logits, visits, q = self.root_statistics()
        completed = completed_q(q, visits, np.exp(logits), self.root_value_estimate)
        z = logits + sigma(completed, visits, self.gumbel)
        weights = np.exp(z - z.max())
        policy[self.legal] = weights / weights.sum()
        return policy

    def advance(self, action: int):
        raise NotImplementedError("a Gumbel tree's schedule is for one search: build a new tree")
