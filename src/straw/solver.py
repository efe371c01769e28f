"""An exact solver for small games: negamax alpha-beta with a transposition table.

    solve(state) -> Solution(value, best_actions, ...)
    action_values(state) -> {action: exact value for the player to move}

`value(terminal_state)` is the payoff from player +1's view. The default is `state.outcome()`
(+1, 0, -1), except for Go, where it is the score margin `tromp_taylor_score() - komi`, so the
solver finds not only who wins but by how much: Go 2x2 is B+1, Go 3x3 is B+9 (komi 0).

The search is negamax (every value is for the player to move, and a parent negates its
children's) with fail-soft alpha-beta pruning (Knuth and Moore 1975). A transposition table keyed
by state remembers, for every state searched, an interval [lower, upper] that holds its exact
value, so a state reached by several move orders is searched once. The interval starts as the
whole range of `value` (for Go: +-area - komi), which lets a player stop looking as soon as she
has a move that reaches the best payoff there is (taking the whole 3x3 board, say).

Go's rules, as solved here, are those of `straw.go`: Tromp-Taylor area scoring, komi 0 unless the
position says otherwise, the game ends after two passes in a row, positional superko (no play
may recreate an earlier board of the game), and suicide of several stones allowed or not as the
position's `suicide_allowed` says (suicide of one stone always recreates the board, so it is
never legal). Superko keeps every game finite, so no move cap is needed.

Superko and the table: the graph-history interaction. A Go position's legal moves depend on the
boards that came before it, but two positions are equal (and hash alike) whatever their history,
so a value stored for one may be wrong for the other. We keep the table and make every entry say
what it relied on. Searching a state S with history H, the result depends on H only through
questions "is board B in H?": one for every child board the search played into (it was legal
because B was not in H) and one for every play superko refused (B was in H). So an entry stores,
besides its bounds, two bit sets over boards: `relied_on`, every board whose membership in the
history the result used, and `in_history`, those of them that were in it. It is reused for a
later visit with history H' only if H' holds exactly the same boards of `relied_on`; then every
step of the first search is legal in the second and vice versa, and its bounds hold. A parent
relies on what its children relied on, less the boards between it and them (which every history
of the parent's subtree contains). Boards of the history before the root never change during a
solve, so they need no bits. This is exact: no entry is ever used where its history could
change the result, which is why the 2x2 and 3x3 results do not depend on the order of search.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

from straw.go import EMPTY, Position

Value = Callable[[object], float]


@dataclass(frozen=True)
class Solution:
    """The exact value of a state, from player +1's view (B+9 is 9), and every optimal action."""

    value: float
    best_actions: list[int]
    nodes: int  # states the search visited, the root's and the best-action checks' included
    seconds: float


def solve(state, value: Value | None = None) -> Solution:
    """The exact value of `state` and every action of the player to move that achieves it."""
    start = time.perf_counter()
    search = _Search(state, value)
    mover_value = search.exact(state)
    # An action is optimal if its value is at least the state's: one null-window test each.
    best = [
        action for action in state.legal_actions() if search.at_least(state, action, mover_value)
    ]
    seconds = time.perf_counter() - start
    return Solution(state.to_play * mover_value, best, search.nodes, seconds)


def action_values(state, value: Value | None = None) -> dict[int, float]:
    """The exact value of every legal action, for the player to move at `state`: the optimal
    actions are those with the largest value."""
    search = _Search(state, value)
    return {action: search.exact_after(state, action) for action in state.legal_actions()}


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
    search = _Search(root, value)
    table = {}
    for state in reachable_states(root):
        if state.is_terminal():
            continue
        values = {a: search.exact_after(state, a) for a in state.legal_actions()}
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
    lower: float  # the exact value (for the player to move) lies in [lower, upper]
    upper: float
    best_action: int | None
    relied_on: int  # bit set of boards whose presence in the history this entry used
    in_history: int  # those of them that were in it


class _Search:
    def __init__(self, root, value: Value | None):
        self.is_go = isinstance(root, Position)
        if value is None:
            value = go_margin if self.is_go else outcome
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
        self.board_bits: dict[tuple[int, ...], int] = {}
        self.nodes = 0
        self.root_history = self.bit(root) if self.is_go else 0

    def bit(self, position) -> int:
        """The bit of `position`'s board in history bit sets (Go only)."""
        board = position.board
        bit = self.board_bits.get(board)
        if bit is None:
            bit = self.board_bits[board] = 1 << len(self.board_bits)
        return bit

    def exact(self, state) -> float:
        return self.mtdf(state, self.root_history)

    def exact_after(self, state, action) -> float:
        child = state.play(action)
        history = self.root_history | (self.bit(child) if self.is_go else 0)
        return -self.mtdf(child, history)

    def at_least(self, state, action, target: float) -> bool:
        """Whether `action` is worth at least `target` to the player to move at `state`."""
        child = state.play(action)
        history = self.root_history | (self.bit(child) if self.is_go else 0)
        # The child is worth at most -target to its mover: a null window just above -target.
        return self._run(child, -target, math.nextafter(-target, math.inf), history) <= -target

    def mtdf(self, state, history) -> float:
        """The exact value by null-window tests only (MTD(f), Plaat et al. 1996): each test
        "is it at least g?" moves one bound to g, and the first guess is the best there is, as
        in Go, where the winner of a small board often takes all of it."""
        if state.is_terminal():
            return state.to_play * self.value(state)
        lower, upper = (self.low, self.high) if state.to_play == 1 else (-self.high, -self.low)
        guess = upper if upper < math.inf else 0.0
        while lower < upper:
            beta = guess if guess > lower else math.nextafter(lower, math.inf)
            guess = self._run(state, math.nextafter(beta, -math.inf), beta, history)
            if guess >= beta:
                lower = guess
            else:
                upper = guess
        return lower

    def _run(self, state, alpha, beta, history) -> float:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 100_000))  # superko games can be long (see module doc)
        try:
            return self.negamax(state, alpha, beta, history)[0]
        finally:
            sys.setrecursionlimit(limit)

    def negamax(self, state, alpha: float, beta: float, history: int):
        """(v, relied_on, in_history): the value of `state` for its player to move, fail-soft:
        v <= alpha means the value is at most v, v >= beta at least v, else it is v exactly.
        `history` holds the bits of the boards of the game so far (this one's included)."""
        self.nodes += 1
        if state.is_terminal():
            return state.to_play * self.value(state), 0, 0
        sign = state.to_play
        lower, upper = (self.low, self.high) if sign == 1 else (-self.high, -self.low)
        relied_on = in_history = 0
        first = None
        entry = self.table.get(state)
        if entry is not None and history & entry.relied_on == entry.in_history:
            lower, upper, first = entry.lower, entry.upper, entry.best_action
            relied_on, in_history = entry.relied_on, entry.in_history
        if lower >= beta or lower == upper:
            return lower, relied_on, in_history
        if upper <= alpha:
            return upper, relied_on, in_history

        own_bit = self.bit(state) if self.is_go else 0
        actions = state.legal_actions()
        if self.is_go:
            for board in _superko_refused_boards(state, actions):
                bit = self.bit_of_board(board)
                if history & bit:  # refused by a board of this solve's history, not of before
                    relied_on |= bit
                    in_history |= bit
        children = [(action, state.play(action)) for action in actions]
        if self.is_go:
            children.sort(key=lambda child: _promise(state, *child), reverse=True)
        if first is not None:
            children.sort(key=lambda child: child[0] != first)

        a, b = max(alpha, lower), min(beta, upper)
        best, best_action = -math.inf, None
        for action, child in children:
            child_bit = self.bit(child) if self.is_go else 0
            v, child_relied, child_in = self.negamax(child, -b, -max(a, best), history | child_bit)
            v = -v
            relied_on |= child_relied | child_bit
            in_history |= child_in
            if v > best:
                best, best_action = v, action
                if best >= b:
                    break
        relied_on &= ~own_bit
        in_history &= ~own_bit

        if best >= b:  # fail high: at least best
            lower = best
        elif best <= a:  # fail low: at most best
            upper = best
        else:
            lower = upper = best
        self.table[state] = _Entry(lower, upper, best_action, relied_on, in_history)
        return best, relied_on, in_history

    def bit_of_board(self, board) -> int:
        bit = self.board_bits.get(board)
        if bit is None:
            bit = self.board_bits[board] = 1 << len(self.board_bits)
        return bit


def _promise(position: Position, action: int, child: Position):
    """How good a move looks before searching it, to search the best-looking first: the mover's
    area after it; then the pass, to end settled games; own eyes last; then plays whose group
    keeps more liberties (a suicide, which leaves no stone, comes last of all)."""
    area = position.to_play * child.tromp_taylor_score()
    if action == position.pass_action:
        return area, 1, 1, 0
    group = child.group_at(action)
    liberties = len(group.liberties) if group is not None else -1
    return area, 0, not position.is_own_eye(action), liberties


def _superko_refused_boards(position: Position, legal: list[int]) -> list[tuple[int, ...]]:
    """The boards of the plays that positional superko alone forbids at `position`.

    An empty point that is not a legal action is either a forbidden suicide or a play that
    recreates an earlier board; the same board without history tells them apart.
    """
    board = position.board
    legal_points = set(legal)
    points = [p for p, color in enumerate(board) if color == EMPTY and p not in legal_points]
    if not points:
        return []
    fresh = _without_history(position)
    return [fresh.play(p).board for p in points if fresh.is_legal(p)]


def _without_history(position: Position) -> Position:
    size = position.size
    marks = {1: "X", -1: "O", 0: "."}
    rows = [
        "".join(marks[c] for c in position.board[row * size : (row + 1) * size])
        for row in range(size)
    ]
    return Position.from_diagram(
        "\n".join(rows), position.to_play, position.komi, position.suicide_allowed
    )
