"""Monte Carlo Tree Search that knows no game.

The search sees a game only through the `Game` protocol of `straw.game` (to_play, legal_actions,
play, is_terminal, outcome, num_actions) and positions only through one function,

    evaluate(states) -> (priors, values)

which returns, for a batch of non-terminal states, a prior over all `num_actions` actions (rows;
illegal actions are masked here) and a value in [-1, 1] for the player to move. A policy-value
network is one such function; `rollout_evaluator` (uniform priors, the result of a random game as
value) is another, and with it and the UCT rule this is plain UCT with random rollouts.

One simulation walks from the root to a leaf by the selection rule, asks `evaluate` about the leaf
(or reads the outcome of a finished game), gives the leaf its moves with their priors, and backs
the value up the path, each node keeping it for the move taken from the view of its own player
to move (so the sign flips at every ply of a two-player game, and never in a one-player game).
After many simulations the visit counts of the root's moves are the search's improved policy.

`run_batched` advances many trees at once, one leaf each per step, and evaluates all their leaves
in one call to `evaluate`: this is what makes network-guided search affordable on a CPU.

Every kind of search has one entry point, as in mctx (`PolicyOutput`):

    out = search(state, evaluate, simulations, config)   # config: SearchConfig (PUCT or UCT),
    out.action, out.action_weights, out.tree             #   or straw.gumbel.GumbelConfig

`action` is the move the search recommends, `action_weights` its improved policy over all actions
(the training target), `tree` the searched tree (`search_batched` runs many side by side).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Evaluate = Callable[[Sequence], tuple[np.ndarray, np.ndarray]]


class Node:
    """A position in the tree. Once expanded, it keeps the statistics of all its moves in arrays,
    one entry per legal action (the edges, as in minigo and Leela Zero): the prior P(a), the visit
    count N(a) and the sum of backed-up values W(a), each value from the view of the player to
    move here, so this node simply picks the move with the best score. A child node is made only
    when the search first walks into it. This holds for two-player games and for single-player
    ones (token tasks) alike."""

    __slots__ = (
        "state",
        "slot",
        "visit_count",
        "actions",
        "priors",
        "child_visits",
        "child_values",
        "children",
    )

    def __init__(self, state, slot: int = 0):
        self.state = state
        self.slot = slot  # this node's entry in its parent's arrays
        self.visit_count = 0
        self.actions: np.ndarray | None = None  # legal actions, once expanded
        self.priors: np.ndarray | None = None
        self.child_visits: np.ndarray | None = None
        self.child_values: np.ndarray | None = None
        self.children: dict[int, Node] = {}  # action -> child, for the moves walked into

    @property
    def expanded(self) -> bool:
        return self.actions is not None

    def expand(self, actions: list[int], priors: np.ndarray):
        self.actions = np.array(actions)
        self.priors = priors
        self.child_visits = np.zeros(len(actions), dtype=int)
        self.child_values = np.zeros(len(actions))

    def child_means(self, unvisited: float = 0.0) -> np.ndarray:
        """Q(a) = W(a) / N(a) for every move, from this node's view; `unvisited` where N(a) = 0."""
        n = self.child_visits
        means = self.child_values / np.maximum(n, 1)  # W(a) = 0 where N(a) = 0
        return means if unvisited == 0 else np.where(n > 0, means, unvisited)

    def child(self, slot: int) -> Node:
        """The child reached by the move in entry `slot`, made on the first walk into it."""
        action = int(self.actions[slot])
        if action not in self.children:
            self.children[action] = Node(self.state.play(action), slot)
        return self.children[action]


# ----------------------------------------------------------------------------------------------
# Selection rules: score every move of an expanded `node`; the search takes the highest.


@dataclass(frozen=True)
class PUCT:
    """The PUCT rule of AlphaGo Zero and AlphaZero: Q(a) + c * P(a) * sqrt(N) / (1 + N(a)),
    with c constant. AlphaZero's pseudocode (Silver et al. 2018) grows c with the parent's
    visits, c_init + log((1 + N + c_base) / c_base) with c_init = 1.25, c_base = 19652: under
    0.1 more than c_init below 1,600 visits, so c = c_init here."""

    c: float = 1.25
    unvisited_value: float = 0.0  # Q of an unvisited child ("first-play urgency")

    def scores(self, node: Node) -> np.ndarray:
        q, n = node.child_means(self.unvisited_value), node.child_visits
        return q + self.c * node.priors * math.sqrt(max(node.visit_count, 1)) / (1 + n)


@dataclass(frozen=True)
class UCT:
    """UCB1 on trees (Kocsis and Szepesvari 2006): unvisited children first, then
    Q(a) + c * sqrt(ln N / N(a)). Priors are ignored."""

    c: float = 1.4

    def scores(self, node: Node) -> np.ndarray:
        n = node.child_visits
        if (n == 0).any():
            return np.where(n == 0, np.inf, -np.inf)
        return node.child_means() + self.c * np.sqrt(math.log(node.visit_count) / n)


# ----------------------------------------------------------------------------------------------
# The tree.


@dataclass
class SearchConfig:
    rule: PUCT | UCT = field(default_factory=PUCT)
    dirichlet_alpha: float | None = None  # root noise; None for none (evaluation play)
    dirichlet_fraction: float = 0.25  # AlphaZero: 25% noise, alpha ~ 10 / legal moves
    seed: int = 0
    utility: Callable | None = None  # a finished game's value for player +1; None: its outcome

    def new_tree(self, state, simulations: int) -> Tree:
        """An unsearched tree at `state` that searches this way (`simulations` is what the search
        will be given; this tree does not need it, a Gumbel tree plans with it)."""
        return Tree(state, self)


class Tree:
    """A search tree rooted at one game state; reusable after a move with `advance`. Its root
    noise is drawn from `rng`, by default a new generator seeded with `config.seed`; a player
    that searches many trees passes its own, so that each draws noise of its own."""

    def __init__(self, state, config: SearchConfig | None = None, rng=None):
        self.config = config or SearchConfig()
        self.rng = np.random.default_rng(self.config.seed) if rng is None else rng
        self.root = Node(state)
        self._noised = False

    # One simulation is split in two so that many trees can share one evaluate call.

    def select_leaf(self) -> list[Node]:
        """Walk from the root by the selection rule to a node that is not expanded."""
        return self.descend([self.root])

    def descend(self, path: list[Node]) -> list[Node]:
        """Extend `path` by the selection rule until it ends at a node that is not expanded
        (a search with its own rule at the root, `straw.gumbel`, walks on from there)."""
        node = path[-1]
        while node.expanded:
            node = node.child(int(self.config.rule.scores(node).argmax()))
            path.append(node)
        return path

    def expand_and_backup(self, path: list[Node], prior: np.ndarray | None, value: float):
        """Give the leaf its moves and their priors and back `value` up; `value` is for the
        player to move at the leaf (for a finished game, its outcome from that player's view)."""
        leaf = path[-1]
        if prior is not None and not leaf.state.is_terminal():
            legal = leaf.state.legal_actions()
            p = np.asarray(prior, dtype=float)[legal]
            total = p.sum()
            leaf.expand(legal, p / total if total > 0 else np.full(len(legal), 1 / len(legal)))
            if leaf is self.root:
                self._add_root_noise()
        # `value` is for the leaf's player to move; each parent keeps it from its own view.
        leaf_player = leaf.state.to_play
        self.root.visit_count += 1
        for parent, node in itertools.pairwise(path):
            node.visit_count += 1
            parent.child_visits[node.slot] += 1
            parent.child_values[node.slot] += (
                value if parent.state.to_play == leaf_player else -value
            )

    def final_value(self, state) -> float:
        """A finished game's value for its player to move: its outcome, or `config.utility`
        (which must agree with what `evaluate`'s values estimate, or the search will prefer
        ending the game to playing on, or the reverse)."""
        utility = self.config.utility
        return (state.outcome() if utility is None else utility(state)) * state.to_play

    def _add_root_noise(self):
        alpha = self.config.dirichlet_alpha
        if alpha is None or self._noised or not self.root.expanded:
            return
        noise = self.rng.dirichlet([alpha] * len(self.root.actions))
        frac = self.config.dirichlet_fraction
        self.root.priors = (1 - frac) * self.root.priors + frac * noise
        self._noised = True

    # What the search says.

    def visit_counts(self) -> np.ndarray:
        counts = np.zeros(self.root.state.num_actions)
        if self.root.expanded:
            counts[self.root.actions] = self.root.child_visits
        return counts

    def improved_policy(self, temperature: float = 1.0) -> np.ndarray:
        """pi(a) proportional to N(a)^(1/temperature); temperature 0 puts all mass on the most
        visited action (ties broken by the lowest action)."""
        counts = self.visit_counts()
        if counts.sum() == 0:
            raise ValueError("no simulations have been run from this root")
        if temperature == 0:
            policy = np.zeros_like(counts)
            policy[int(np.argmax(counts))] = 1.0
            return policy
        weights = counts ** (1.0 / temperature)
        return weights / weights.sum()

    def best_action(self) -> int:
        """The move the search prefers at the root: the most visited; among moves visited equally
        often (all of them, when fewer simulations ran than there are legal moves), the one with
        the higher mean value, then the higher prior, then the lower action. Always legal."""
        root = self.root
        if not root.expanded:
            raise ValueError("no simulations have been run from this root")
        keys = (-root.actions, root.priors, root.child_means(), root.child_visits)  # last first
        return int(root.actions[np.lexsort(keys)[-1]])

    def root_value(self) -> float:
        """Mean backed-up value of the root's moves, for the player to move at the root."""
        if not self.root.expanded:
            return 0.0
        visits = int(self.root.child_visits.sum())
        return sum(self.root.child_values.tolist()) / visits if visits else 0.0

    def advance(self, action: int):
        """Make the child reached by `action` the new root, keeping its subtree."""
        child = self.root.children.get(action)
        self.root = child if child is not None else Node(self.root.state.play(action))
        self._noised = False
        self._add_root_noise()


@dataclass(frozen=True)
class SearchOutput:
    """What a search says: `action`, the move it recommends (`Tree.best_action`);
    `action_weights`, its improved policy over all `num_actions` actions (`Tree.improved_policy`,
    the training target); and the searched `tree`."""

    action: int
    action_weights: np.ndarray
    tree: Tree

    @classmethod
    def of(cls, tree: Tree) -> SearchOutput:
        return cls(tree.best_action(), tree.improved_policy(), tree)


def search(state, evaluate: Evaluate, simulations: int, config=None) -> SearchOutput:
    """Search `simulations` times from `state` and say what the search found. `config` chooses
    the search: a `SearchConfig` (default: PUCT, no noise) or a `straw.gumbel.GumbelConfig`;
    anything with a `new_tree(state, simulations)` method."""
    return search_batched([state], evaluate, simulations, [config or SearchConfig()])[0]


def search_batched(states: Sequence, evaluate: Evaluate, simulations: int, configs: Sequence):
    """`search` from every state, state i with `configs[i]`, side by side (`run_batched`): one
    evaluate call per simulation for all of them. Returns a list of `SearchOutput`."""
    trees = [config.new_tree(s, simulations) for s, config in zip(states, configs, strict=True)]
    run_batched(trees, evaluate, simulations)
    return [SearchOutput.of(tree) for tree in trees]


def run(tree: Tree, evaluate: Evaluate, simulations: int) -> Tree:
    """Run `simulations` simulations on one tree, one leaf per evaluate call."""
    return run_batched([tree], evaluate, simulations)[0]


def run_batched(trees: Sequence[Tree], evaluate: Evaluate, simulations: int) -> Sequence[Tree]:
    """Advance every tree by `simulations` simulations; each step evaluates the leaves of all
    trees in a single call."""
    for _ in range(simulations):
        paths = [tree.select_leaf() for tree in trees]
        pending = [i for i, path in enumerate(paths) if not path[-1].state.is_terminal()]
        if pending:
            priors, values = evaluate([paths[i][-1].state for i in pending])
        for i, path in enumerate(paths):
            state = path[-1].state
            if state.is_terminal():
                trees[i].expand_and_backup(path, None, trees[i].final_value(state))
        for k, i in enumerate(pending):
            trees[i].expand_and_backup(paths[i], priors[k], float(values[k]))
    return trees


# ----------------------------------------------------------------------------------------------
# Evaluators that need no network.


def uniform_evaluator(states):
    """Uniform priors and value 0: search guided by nothing but the game's rules."""
    n = states[0].num_actions
    return np.full((len(states), n), 1.0 / n), np.zeros(len(states))


def rollout_evaluator(seed: int = 0, rollouts: int = 1, policy=None) -> Evaluate:
    """Uniform priors; value = mean result of `rollouts` random games from the state, for the
    player to move there. `policy(state, rng) -> action` replaces the uniform random move (Go uses
    one that never fills its own eyes)."""
    rng = np.random.default_rng(seed)

    def play_randomly(state):
        while not state.is_terminal():
            if policy is not None:
                action = policy(state, rng)
            else:
                legal = state.legal_actions()
                action = legal[int(rng.integers(len(legal)))]
            state = state.play(action)
        return state.outcome()

    def evaluate(states):
        n = states[0].num_actions
        values = np.array(
            [np.mean([play_randomly(s) for _ in range(rollouts)]) * s.to_play for s in states]
        )
        return np.full((len(states), n), 1.0 / n), values

    return evaluate
