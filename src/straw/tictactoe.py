"""Tic-tac-toe, the smallest game of the book: a `straw.game.Game` that the exact solver and
the search of chapter 4 can finish."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import ClassVar

from straw.coords import MARKS
from straw.game import IllegalMove

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
