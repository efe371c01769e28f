"""The `Game` protocol every game of the book implements (tic-tac-toe, Go, the token tasks).

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

from typing import Protocol, Self, runtime_checkable


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
