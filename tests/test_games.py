"""Every game of the book passes the same random-play invariant test, in the OpenSpiel manner.

Seeded random games check, at every step, what a search relies on without knowing the game:
legal actions exist until the end, each one plays, playing never changes the parent, and the
outcome exists exactly when the game is over.
"""

import random

import pytest

from straw.games import Game, IllegalMove, TicTacToe
from straw.go import Position

GAMES = {
    "tictactoe": (TicTacToe, 100),  # (new game, how many random games)
    "go5x5": (lambda: Position(5, komi=0), 40),
    "go9x9": (lambda: Position(9, komi=7.5), 12),
    "go5x5-no-suicide": (lambda: Position(5, komi=0.5, suicide_allowed=False), 20),
}


@pytest.mark.parametrize("name", GAMES)
def test_random_play_keeps_every_invariant(name):
    new_game, games = GAMES[name]
    rng = random.Random(0)
    for _ in range(games):
        state = new_game()
        assert isinstance(state, Game)
        bound = 20 * state.num_actions  # random Go games end long before this
        for _step in range(bound):
            if state.is_terminal():
                break
            with pytest.raises(ValueError):
                state.outcome()
            assert state.to_play in (1, -1)
            actions = state.legal_actions()
            assert actions, "no legal action before the end"
            assert len(set(actions)) == len(actions)
            assert all(0 <= action < state.num_actions for action in actions)

            key, text, twin = hash(state), str(state), state
            children = [state.play(action) for action in actions]
            assert hash(state) == key and str(state) == text and state == twin, "play mutated"
            assert all(child != state for child in children)
            assert all(child.to_play == -state.to_play for child in children)

            state = rng.choice(children)
        else:
            pytest.fail(f"{name}: no end after {bound} moves")

        assert state.legal_actions() == []
        assert state.outcome() in (-1.0, 0.0, 1.0)
        with pytest.raises(IllegalMove):
            state.play(0)
