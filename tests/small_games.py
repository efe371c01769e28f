"""Two games small enough to know the answer, for the search tests and the Game contract test.

    Nim(stones)        two players take 1, 2 or 3 stones (actions 0, 1, 2); the last stone wins
    Corridor(length)   one player walks `length` steps, left (0) or right (1); only all-right pays 1

They keep the whole `straw.game.Game` contract, as tests/test_game_contract.py checks.
"""

import operator
from dataclasses import dataclass
from typing import ClassVar

from straw.game import IllegalMove


def _as_action(action, legal: list[int]) -> int:
    """`action` read as every game of the book reads one (`operator.index`), if it is legal."""
    try:
        action = operator.index(action)
    except TypeError:
        raise IllegalMove(f"an action is an int, got {action!r}") from None
    if action not in legal:
        raise IllegalMove(f"action {action} is not legal here: {legal}")
    return action


@dataclass(frozen=True)
class Nim:
    """Take 1, 2 or 3 stones (actions 0, 1, 2); whoever takes the last stone wins.
    The player to move loses exactly when stones % 4 == 0."""

    stones: int
    to_play: int = 1
    num_actions: ClassVar[int] = 3
    num_players: ClassVar[int] = 2
    outcome_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    def legal_actions(self):
        return [a for a in range(3) if a + 1 <= self.stones]

    def play(self, action):
        action = _as_action(action, self.legal_actions())
        return Nim(self.stones - (action + 1), -self.to_play)

    def is_terminal(self):
        return self.stones == 0

    def outcome(self):
        if not self.is_terminal():
            raise ValueError("stones are left: no outcome yet")
        return float(-self.to_play)  # the player who just took the last stone won


@dataclass(frozen=True)
class Corridor:
    """One player walks `length` steps choosing left (0) or right (1); only all-right pays 1."""

    length: int
    path: tuple = ()
    to_play: int = 1
    num_actions: ClassVar[int] = 2
    num_players: ClassVar[int] = 1
    outcome_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def legal_actions(self):
        return [] if self.is_terminal() else [0, 1]

    def play(self, action):
        action = _as_action(action, self.legal_actions())
        return Corridor(self.length, self.path + (action,))

    def is_terminal(self):
        return len(self.path) == self.length

    def outcome(self):
        if not self.is_terminal():
            raise ValueError("the walk is not over: no outcome yet")
        return 1.0 if all(self.path) else 0.0
