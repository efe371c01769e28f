"""The `Game` protocol every game of the book implements, and tic-tac-toe, the smallest one.

A state is an immutable value: `play` returns a new state and leaves its parent as it was, so a
search (`straw.mcts`) can keep any node of its tree, key a transposition table by state, and never
know which game it is playing. Players are +1 (who moves first: X, Black) and -1, and outcomes are
always from the point of view of player +1.

An *action* is an integer 0 .. num_actions - 1, read with `operator.index`: a numpy integer is the
int it equals, and so is a bool (True is 1, as Python has it, and as `True in legal_actions()`
says). Anything else (a float, a string, an int out of range or not legal now) makes `play`
raise `IllegalMove`. tests/test_game_contract.py checks every game of the book for all of this.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self, runtime_checkable

from straw.coords import MARKS


class IllegalMove(ValueError):
    """Raised by `play` for an action the rules forbid; the message says why."""


@runtime_checkable
class Game(Protocol):
    """What a search needs to know about a game, and nothing else.

    Each game declares how many players it has and the outcomes it can end with:
    `num_players` is 2 (players +1 and -1 alternate or not, as the rules say) or 1 (only +1
    moves: a token task, a puzzle); `outcome_range = (low, high)` bounds `outcome()`, as
    (-1, 1) for a win, draw or loss and (0, 1) for a verifier's reward. A search that backs
    values up needs both: a one-player value is never negated, and a value of `high` is sure.
    `is_legal(action)` is no part of the contract: Go has one, a fast `action in
    legal_actions()`, and tests/test_game_contract.py checks that it agrees.
    """

    num_actions: int  # size of the action space; actions are the ints 0 .. num_actions - 1
    num_players: int  # 1 or 2
    outcome_range: tuple[float, float]  # (lowest, highest) outcome, from player +1's view

    @property
    def to_play(self) -> int:
        """The player to move: +1 (who moves first) or -1."""

    def legal_actions(self) -> list[int]:
        """Every action `play` accepts now; non-empty until the game is over, then empty."""

    def play(self, action: int) -> Self:
        """The state after `action`; raises `IllegalMove`, saying why, if the rules forbid it."""

    def is_terminal(self) -> bool:
        """True once the game is over."""

    def outcome(self) -> float:
        """+1 if player +1 won, -1 if it lost, 0 for a draw; raises ValueError before the end."""

    def __hash__(self) -> int: ...

    def __eq__(self, other: object) -> bool: ...


# The eight lines of three: rows, columns, diagonals. Squares are numbered 0..8 row by row.
LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


@dataclass(frozen=True)
class TicTacToe:
    """Tic-tac-toe: `board[square]` is +1 for X (who moves first), -1 for O, 0 for empty."""

    board: tuple[int, ...] = (0,) * 9
    num_actions: ClassVar[int] = 9
    num_players: ClassVar[int] = 2
    outcome_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    @property
    def to_play(self) -> int:
        return 1 if self.board.count(1) == self.board.count(-1) else -1

    def winner(self) -> int:
        """+1 or -1 for the player with three in a line, 0 if nobody has one."""
        board = self.board
        for a, b, c in LINES:
            if board[a] != 0 and board[a] == board[b] == board[c]:
                return board[a]
        return 0

    def is_terminal(self) -> bool:
        return self.winner() != 0 or 0 not in self.board

    def legal_actions(self) -> list[int]:
        if self.is_terminal():
            return []
        return [square for square in range(9) if self.board[square] == 0]

    def play(self, action: int) -> TicTacToe:
        if self.is_terminal():
            raise IllegalMove("the game is over")
        try:
            action = operator.index(action)  # numpy integers are ints too
        except TypeError:
            raise IllegalMove(f"action {action!r} is not a square 0..8") from None
        if not 0 <= action < 9:
            raise IllegalMove(f"action {action!r} is not a square 0..8")
        if self.board[action] != 0:
            raise IllegalMove(f"square {action} is taken")
        board = list(self.board)
        board[action] = self.to_play
        return TicTacToe(tuple(board))

    def outcome(self) -> float:
        if not self.is_terminal():
            raise ValueError("the game is not over: it has no outcome yet")
        return float(self.winner())

    def __str__(self) -> str:
        return "\n".join(
            " ".join(MARKS[self.board[3 * row + col]] for col in range(3)) for row in range(3)
        )
