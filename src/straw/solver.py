"""An exact solver for small games: negamax alpha-beta with a transposition table.

    solve(state) -> Solution(value, best_actions, ...)
    action_values(state) -> {action: exact value for the player to move}
    Solver().solve(state), Solver().action_values(state): the same, one table kept across calls

`value(terminal_state)` is the payoff from player +1's view. The default is `state.outcome()`
(+1, 0, -1), except for Go, where it is the score margin `tromp_taylor_score() - komi`, so the
solver finds not only who wins but by how much: Go 2x2 is B+1, Go 3x3 is B+9 (komi 0), in under
a second on one CPU core. A search that visits more positions than its `budget` raises
`SolveBudgetExceeded` rather than run for hours (5x5 is far out of reach).

The search is negamax (every value is for the player to move, and a parent negates its
children's) with fail-soft alpha-beta pruning (Knuth and Moore 1975), driven by null-window
tests only, as in MTD(f) (Plaat et al. 1996): "is the value at least t?" moves one bound of the
value to the bound the test returns. The first test asks for the best there is (the winner of a
small Go board often takes all of it); then, since Go margins with komi 0 or 7.5 are integers
(or integers plus a half) apart, each test bisects the interval left, so a move that loses by
any margin costs a few tests, not one per point. A transposition table remembers, for every state
searched, bounds on its exact value, so a state reached by several move orders is searched once.
Moves are searched best-looking first (`_Search.promise`), which is what makes 3x3 fast.

Go's rules, as solved here, are those of `straw.go`: Tromp-Taylor area scoring, komi as the
position says, the game ends after two passes in a row, positional superko over the whole game
(no play may recreate any earlier board, and every repetition is refused, not only a ko
recapture), and suicide of several stones allowed or not as the position's `suicide_allowed`
says (suicide of one stone recreates the board, so it is never legal). Superko keeps every game
finite, so no move cap is needed.

Superko and the table: the graph-history interaction. A Go position's legal moves depend on every
board of the game before it, not on the position alone. van der Werf, who solved 5x5 (2002),
used only the simple ko rule, which forbids only the immediate recapture and so depends on the
last move alone; his result holds under superko too because the winning line avoids long cycles.
We solve under positional superko itself, over the whole game, the boards before the position
given to the solver included, and keep one table for all histories by making every bound say
when it holds. A search's result depends on the history only through
questions "is board B in it?", and only in one direction for each kind of bound:

- a lower bound ("at least v") was reached by one move, and holds wherever that move is legal
  (its board is not in the history) and the bound found below it holds;
- an upper bound ("at most v") holds wherever every move searched keeps the bound found below
  it, and no move is added: every board that superko refused here is still in the history. A
  move that superko forbids only leaves fewer moves, so it never breaks an upper bound.

So every bound in the table carries a condition, two bit sets over boards: those that must be in
the history and those that must not be (`_holds`). A parent's condition joins its children's,
less its own board, which every history below it holds. A bound is used only where its condition
holds; then the search it summarises would find the same bound. This is exact: the tests compare
the solver with plain minimax, which keeps no table, on 2x2 and 3x3 positions with long superko
histories, and a `Solver` that keeps its table from position to position with fresh ones.
The one approximation is `straw.go`'s own: boards are told apart by 64-bit Zobrist hashes, in
the table as in superko.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from straw.go import Position

Value = Callable[[object], float]

DEFAULT_BUDGET = 5_000_000  # positions one call may visit (minutes on one core); 3x3 needs 23,571


@dataclass(frozen=True)
class Solution:
    """The exact value of a state, from player +1's view (B+9 is 9), and every optimal action."""

    value: float
    best_actions: list[int]
    nodes: int  # positions the search visited, the best-action checks' included
    seconds: float


class SolveBudgetExceeded(RuntimeError):
    """The search visited more positions than its budget allows: the state is too big to solve."""


def solve(state, value: Value | None = None, budget: int = DEFAULT_BUDGET) -> Solution:
    """The exact value of `state` and every action of the player to move that achieves it."""
    return Solver(value, budget).solve(state)


def action_values(state, value: Value | None = None, budget: int = DEFAULT_BUDGET):
    """The exact value of every legal action, for the player to move at `state`: the optimal
    actions are those with the largest value."""
    return Solver(value, budget).action_values(state)


class Solver:
    """`solve` and `action_values` with one transposition table kept from call to call, so the
    positions of a game, or of many games with the same rules, share their work. This is exact
    because every entry says which boards of the history it relied on (see the module doc)."""

    def __init__(self, value: Value | None = None, budget: int = DEFAULT_BUDGET):
        self.value, self.budget = value, budget
        self.search: _Search | None = None

    def solve(self, state) -> Solution:
        """The exact value of `state` (player +1's view) and every optimal action."""
        start = time.perf_counter()
        search = self._search_for(state)
        nodes = search.nodes
        mover_value = search.exact(state)
        # An action is optimal if its value is at least the state's: one null-window test each.
        best = [a for a in state.legal_actions() if search.at_least(state, a, mover_value)]
        seconds = time.perf_counter() - start
        return Solution(state.to_play * mover_value, best, search.nodes - nodes, seconds)

    def action_values(self, state) -> dict[int, float]:
        """The exact value of every legal action, for the player to move (not player +1: the
        optimal actions are those with the largest value, for either player)."""
        search = self._search_for(state)
        values = {}
        for action in state.legal_actions():
            # Most moves are worth less than the best one so far: test that first, then search
            # only below it.
            best = max(values.values(), default=None)
            values[action] = search.exact_after(state, action, best)
        return values

    def _search_for(self, state) -> _Search:
        if self.search is None:
            self.search = _Search(state, self.value)
        elif self.search.rules != _rules(state):
            raise ValueError(
                f"this solver's table is for {self.search.rules}; got {_rules(state)}: "
                "use one Solver per game and rules"
            )
        search = self.search
        search.asked, search.start = state, search.nodes
        search.budget = search.nodes + self.budget
        return search


def optimal_actions_table(root, value: Value | None = None) -> dict[Hashable, frozenset[int]]:
    """Every non-terminal state reachable from `root`, with its set of optimal actions.

    For games whose legal moves depend on the state alone, like tic-tac-toe: one table serves
    every state. Go's depend on history too (superko), so a state does not define them.
    """
    if isinstance(root, Position):
        raise ValueError(
            "Go positions with equal boards may differ in history; tabulate games "
            "whose legal moves depend on the state alone"
        )
    solver = Solver(value)
    table = {}
    for state in reachable_states(root):
        if state.is_terminal():
            continue
        values = solver.action_values(state)
        best = max(values.values())
        table[state] = frozenset(a for a, v in values.items() if v == best)
    return table


def reachable_states(root) -> Iterator:
    """Every state reachable from `root`, each once (terminal states included)."""
    seen = {root}
    frontier = [root]
    while frontier:
        state = frontier.pop()
        yield state
        for action in state.legal_actions():
            child = state.play(action)
            if child not in seen:
                seen.add(child)
                frontier.append(child)


def go_margin(position: Position) -> float:
    """Black's Tromp-Taylor area minus White's, minus komi: the payoff solving Go maximises."""
    return position.tromp_taylor_score() - position.komi


def outcome(state) -> float:
    return state.outcome()


# ----------------------------------------------------------------------------------------------
# The search.


@dataclass
class _Entry:
    """What a search of a state found, and when it holds: each bound with its condition."""

    lower: float  # the exact value, for the player to move, is at least `lower`
    lower_if: tuple[int, int]  # when the history holds these boards and not those (`_holds`)
    upper: float  # ... and at most `upper`
    upper_if: tuple[int, int]
    best_action: int | None  # a hint for move ordering, whatever the history


ALWAYS = (0, 0)  # the condition of a bound that holds in every history


def _holds(condition: tuple[int, int], history: int) -> bool:
    """Whether a history (a bit set of boards) meets a condition (present, absent): every board
    of `present` is in it and none of `absent`."""
    present, absent = condition
    return history & present == present and not history & absent


class _Search:
    def __init__(self, root, value: Value | None):
        self.is_go = isinstance(root, Position)
        self.rules = _rules(root)
        # Payoffs on a lattice of step 1 (integers, or integers + 1/2 with a komi of 7.5) let the
        # exact value be found by bisection; other payoffs fall back to MTD(f)'s steps.
        self.integral = value is None and (not self.is_go or float(2 * root.komi).is_integer())
        if value is None:
            value = self.go_margin if self.is_go else outcome
            # The range of the payoff, for player +1: lets a player stop at the best there is.
            if self.is_go:
                area = root.size * root.size
                self.low, self.high = -area - root.komi, area - root.komi
            else:
                self.low, self.high = -1.0, 1.0
        else:
            self.low, self.high = -math.inf, math.inf
        self.value = value
        self.table: dict[Hashable, _Entry] = {}
        self.board_bits: dict[int, int] = {}  # board hash -> its bit in history bit sets
        self.areas: dict[int, int] = {}  # board hash -> its Tromp-Taylor score
        self.nodes = 0
        self.start, self.budget = 0, math.inf  # `nodes` when this call began, and its limit
        self.asked = root  # the state this call solves, to name it if the budget runs out

    def go_margin(self, position: Position) -> float:
        return self.area(position) - position.komi

    def area(self, position: Position) -> int:
        """The Tromp-Taylor score of the position's board, computed once per board."""
        area = self.areas.get(position.board_hash)
        if area is None:
            area = self.areas[position.board_hash] = position.tromp_taylor_score()
        return area

    def promise(self, position: Position, action: int, child: Position):
        """How good a move looks before searching it, to search the best-looking first: the
        mover's area after it; then the pass, to end settled games; own eyes last; then plays
        whose group keeps more liberties. Good order is what makes 3x3 fast: proving B+9 needs
        one good Black reply to every White move, and the area finds it first."""
        area = position.to_play * self.area(child)
        if action == position.pass_action:
            return area, 1, 1, 0
        group = child.group_at(action)  # None after a suicide
        liberties = len(group.liberties) if group is not None else -1
        return area, 0, not position.is_own_eye(action), liberties

    def bit(self, board_hash: int) -> int:
        bit = self.board_bits.get(board_hash)
        if bit is None:
            bit = self.board_bits[board_hash] = 1 << len(self.board_bits)
        return bit

    def history(self, position) -> int:
        """The bit set of every board of the game so far (Go), or 0 (other games)."""
        if not self.is_go:
            return 0
        bits = 0
        for board_hash in position.history_hashes():
            bits |= self.bit(board_hash)
        return bits

    def mover_range(self, state) -> tuple[float, float]:
        return (self.low, self.high) if state.to_play == 1 else (-self.high, -self.low)

    def exact(self, state, guess: float | None = None) -> float:
        """The exact value for the player to move, by null-window tests only (MTD(f), Plaat et al.
        1996): each test "is it at least t?" moves one bound. The first test is at `guess`, by
        default the best there is: on a small Go board the winner often takes all of it."""
        if state.is_terminal():
            return state.to_play * self.value(state)
        history = self.history(state)
        lower, upper = self.mover_range(state)
        target = upper if guess is None else min(guess, upper)
        if target == math.inf:
            target = 0.0
        while lower < upper:
            if not target > lower:
                target = math.nextafter(lower, math.inf)
            bound = self._run(state, math.nextafter(target, -math.inf), target, history)
            if bound >= target:
                lower = bound
            else:
                upper = bound
            # Bisect the interval left where the values are integers apart; otherwise test just
            # above the bound the last test returned, as MTD(f) does.
            target = lower + math.ceil((upper - lower) / 2) if self.integral else bound
        return lower

    def exact_after(self, state, action, guess: float | None = None) -> float:
        """The exact value of `action` for the player to move at `state`."""
        child = state.play(action)
        # 0.0 - v, not -v: a drawn move is worth 0.0, never the -0.0 that -v makes of it.
        return 0.0 - self.exact(child, None if guess is None else -guess)

    def at_least(self, state, action, target: float) -> bool:
        """Whether `action` is worth at least `target` to the player to move at `state`."""
        child = state.play(action)
        if child.is_terminal():
            return state.to_play * self.value(child) >= target
        # The child is worth at most -target to its mover: a null window just above -target.
        window = (-target, math.nextafter(-target, math.inf))
        return self._run(child, *window, self.history(child)) <= -target

    def _run(self, state, alpha, beta, history) -> float:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 100_000))  # superko games can be long (see module doc)
        try:
            return self.negamax(state, alpha, beta, history)[0]
        finally:
            sys.setrecursionlimit(limit)

    def negamax(self, state, alpha: float, beta: float, history: int):
        """(v, condition): the value of `state` for its player to move, fail-soft: v <= alpha
        means the value is at most v, v >= beta at least v, else it is v exactly; the bound
        holds in every history that meets `condition` (see the module doc). `history` holds the
        bits of the boards of the game so far, this one's included."""
        self.nodes += 1
        if self.nodes > self.budget:
            raise SolveBudgetExceeded(
                f"the search visited more than its budget of {self.budget - self.start:,} "
                f"positions without solving this one; it is too big to solve exactly:\n"
                f"{self.asked!r}"
            )
        if state.is_terminal():
            return state.to_play * self.value(state), ALWAYS
        is_go = self.is_go
        key = hash(state) if is_go else state  # Go: the Zobrist key superko also relies on
        lower, upper = self.mover_range(state)
        lower_if = upper_if = ALWAYS
        entry = self.table.get(key)
        first = None
        if entry is not None:
            first = entry.best_action
            if _holds(entry.lower_if, history):
                lower, lower_if = entry.lower, entry.lower_if
            if _holds(entry.upper_if, history):
                upper, upper_if = entry.upper, entry.upper_if
            if lower >= beta:
                return lower, lower_if
            if upper <= alpha:
                return upper, upper_if
            if lower == upper:
                return lower, (lower_if[0] | upper_if[0], lower_if[1] | upper_if[1])

        actions = state.legal_actions()
        # An upper bound holds while no move is added: while every board superko refused here
        # stays in the history. A lower bound needs only the move that reached it.
        every_present = every_absent = 0
        own_bit = 0
        if is_go:
            own_bit = self.bit(state.board_hash)
            for board_hash in state.superko_refusals():
                every_present |= self.bit(board_hash)
        children = [(action, state.play(action)) for action in actions]
        if is_go:
            children.sort(key=lambda child: self.promise(state, *child), reverse=True)
        if first is not None:  # the best move of an earlier search, of any history, first
            children.sort(key=lambda child: child[0] != first)

        a, b = max(alpha, lower), min(beta, upper)
        best, best_action, best_if = -math.inf, None, ALWAYS
        pass_action = state.pass_action if is_go else None
        for action, child in children:
            child_bit = self.bit(child.board_hash) if is_go else 0
            v, (present, absent) = self.negamax(child, -b, -max(a, best), history | child_bit)
            v = -v
            # Whatever this move's bound, it holds in the histories that meet its condition; a
            # move that superko later forbids only leaves fewer moves, so an upper bound stands.
            every_present |= present
            every_absent |= absent
            if v > best:
                best, best_action = v, action
                # A lower bound reached by this move needs it legal: its board not yet played.
                best_if = (present, absent if action == pass_action else absent | child_bit)
                if best >= b:
                    break
        every_if = (every_present & ~own_bit, every_absent)
        best_if = (best_if[0] & ~own_bit, best_if[1])

        if best >= b:  # fail high: at least best
            lower, lower_if = best, best_if
        elif best <= a:  # fail low: at most best
            upper, upper_if = best, every_if
        else:
            lower, lower_if, upper, upper_if = best, best_if, best, every_if
        if entry is None:
            self.table[key] = _Entry(lower, lower_if, upper, upper_if, best_action)
        else:  # replace only the bounds this search found: the others may serve other histories
            if best > a:
                entry.lower, entry.lower_if = lower, lower_if
            if best < b:
                entry.upper, entry.upper_if = upper, upper_if
            entry.best_action = best_action
        if best >= beta:
            return best, lower_if
        if best <= alpha:
            return best, upper_if
        return best, (lower_if[0] | upper_if[0], lower_if[1] | upper_if[1])


def _rules(state) -> object:
    """What a table's entries are valid for: the game, and for Go its size, komi and suicide."""
    if isinstance(state, Position):
        return ("Go", state.size, state.komi, state.suicide_allowed)
    return type(state).__name__
