"""Every game of the book, and of its tests, passes one random-play invariant test (OpenSpiel's).

Seeded random games check, at every step, what a search relies on without knowing the game
(the contract of `straw.game.Game`):

- legal actions exist until the end, are distinct ints of the action space, and none after it;
- each legal action plays, and playing never changes the parent; an illegal one raises
  `IllegalMove`; after the end every action does;
- the outcome raises ValueError before the end and lies in `outcome_range` after it;
- `to_play` is a declared player (+1 only, in a one-player game);
- states are hashable values: replaying the same actions gives an equal state with an equal hash;
- `play(a)`, `a in legal_actions()` and, where a game has one, `is_legal(a)` agree for every
  kind of integer a caller may pass: Python ints, numpy int64 and int32 scalars, bools (True is
  1), negative and out-of-range ints. Floats and strings are not actions: `play` raises
  `IllegalMove` (even where `1.0 in legal_actions()` is true, as 1.0 == 1) and `is_legal` says no.
"""

import random

import numpy as np
import pytest
from small_games import Corridor, Nim

from straw.game import Game, IllegalMove
from straw.go import Position
from straw.tictactoe import TicTacToe
from straw.tokens import CombinationLock, DigitSum, RunningSum

GAMES = {  # name: (new game, how many random games)
    "tictactoe": (TicTacToe, 60),
    "go2x2": (lambda: Position(2, komi=0), 20),
    "go5x5": (lambda: Position(5, komi=0), 12),
    "go9x9": (lambda: Position(9, komi=7.5), 2),
    "go5x5-no-suicide": (lambda: Position(5, komi=0.5, suicide_allowed=False), 8),
    "token-lock": (lambda: CombinationLock(5, 3, seed=1).game(), 20),
    "token-running-sum": (lambda: RunningSum(4, 3).game((1, 3, 2)), 20),
    "token-digit-sum": (lambda: DigitSum(4, 3, 5).game(), 20),
    "nim (tests)": (lambda: Nim(7), 20),
    "corridor (tests)": (lambda: Corridor(4), 20),
}
INTEGER_TYPES = (int, np.int64, np.int32)
NOT_ACTIONS = (1.0, 0.5, "0", None)


@pytest.mark.parametrize("name", GAMES)
def test_random_play_keeps_every_invariant(name):
    new_game, games = GAMES[name]
    rng = random.Random(0)
    for _ in range(games):
        state = new_game()
        assert isinstance(state, Game)
        assert state.num_players in (1, 2)
        low, high = state.outcome_range
        assert low < high
        players = {1} if state.num_players == 1 else {1, -1}
        history = []
        bound = 20 * state.num_actions  # random Go games end long before this
        for _step in range(bound):
            assert state.to_play in players
            assert_a_value(state, new_game, history)
            actions = state.legal_actions()
            assert_actions_agree(state, actions)
            if state.is_terminal():
                break
            with pytest.raises(ValueError):
                state.outcome()
            assert actions, "no legal action before the end"
            assert len(set(actions)) == len(actions)
            assert all(type(action) is int for action in actions)
            assert all(0 <= action < state.num_actions for action in actions)

            key, text, twin = hash(state), str(state), state
            children = [state.play(action) for action in actions]
            assert hash(state) == key and str(state) == text and state == twin, "play mutated"
            assert state.legal_actions() == actions, "play mutated"
            if state.num_players == 2:  # every two-player game of the book alternates
                assert all(child.to_play == -state.to_play for child in children)

            index = rng.randrange(len(actions))
            history.append(actions[index])
            state = children[index]
        else:
            pytest.fail(f"{name}: no end after {bound} moves")

        assert state.legal_actions() == []
        assert low <= state.outcome() <= high
        for action in range(-1, state.num_actions + 1):
            with pytest.raises(IllegalMove):
                state.play(action)


def assert_a_value(state, new_game, history):
    """The state is what its actions make it: replayed from the start, equal and hashed alike."""
    replayed = new_game()
    for action in history:
        replayed = replayed.play(action)
    assert replayed == state and hash(replayed) == hash(state)


def assert_actions_agree(state, legal):
    """`play`, `in legal_actions()` and `is_legal` agree on every kind of integer action."""
    has_is_legal = hasattr(state, "is_legal")
    candidates = [*range(-2, state.num_actions + 2), 2**40, -(2**40)]
    for number in candidates:
        expected = number in legal
        kinds = [int] if abs(number) > 2**31 else list(INTEGER_TYPES)
        values = [kind(number) for kind in kinds] + ([bool(number)] if number in (0, 1) else [])
        for action in values:
            assert (action in legal) == expected, (action, type(action))
            if has_is_legal:
                assert state.is_legal(action) == expected, (action, type(action))
            if expected:
                assert state.play(action) == state.play(number), (action, type(action))
            else:
                with pytest.raises(IllegalMove):
                    state.play(action)
    for action in NOT_ACTIONS:
        if has_is_legal:
            assert not state.is_legal(action), action
        with pytest.raises(IllegalMove):
            state.play(action)


def test_go_reads_numpy_integers_as_the_ints_they_equal():
    """is_legal(np.int64(3)) was False while play(np.int64(3)) played: they agree now."""
    position = Position(5)
    for action in (np.int64(3), np.int32(3), 3):
        assert position.is_legal(action)
        assert position.play(action).last_move == 3 and type(position.play(action).last_move) is int
    assert position.is_legal(np.int64(25)) and position.play(np.int64(25)).passes == 1
    assert not position.is_legal(25.0)
    with pytest.raises(IllegalMove, match="an action is an int"):
        position.play(25.0)  # a float was once taken for the pass


def test_outcomes_are_results_not_margins():
    """Go's outcome is the sign of the score, inside outcome_range, however large the margin."""
    position = Position.from_diagram(
        """
        X X X
        X . X
        X X X
        """,
        komi=0.5,
    )
    over = position.play(position.pass_action).play(position.pass_action)
    assert over.score() == 8.5 and over.outcome() == 1.0
    assert Position.outcome_range == (-1.0, 1.0)
