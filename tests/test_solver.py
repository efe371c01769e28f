"""The exact solver: known values of solved games, and agreement with plain minimax (no table,
no pruning) on positions small enough for it, superko histories included."""

import random

import pytest

from straw.games import TicTacToe
from straw.go import Position
from straw.solver import (
    action_values,
    go_margin,
    optimal_actions_table,
    reachable_states,
    solve,
)


class TooBig(Exception):
    pass


def minimax(state, value, budget: list[int]) -> float:
    """Player +1's payoff under perfect play, by brute force; `budget` caps the nodes."""
    budget[0] -= 1
    if budget[0] < 0:
        raise TooBig
    if state.is_terminal():
        return value(state)
    values = [minimax(state.play(a), value, budget) for a in state.legal_actions()]
    return max(values) if state.to_play == 1 else min(values)


def test_tic_tac_toe_is_a_draw_and_every_opening_draws():
    solution = solve(TicTacToe())
    assert solution.value == 0 and solution.best_actions == list(range(9))
    assert set(action_values(TicTacToe()).values()) == {0}


def test_tic_tac_toe_has_5478_reachable_states():
    assert sum(1 for _ in reachable_states(TicTacToe())) == 5478


def test_the_optimal_table_matches_minimax_on_random_positions():
    table = optimal_actions_table(TicTacToe())
    rng = random.Random(0)
    states = [s for s in table if sum(v != 0 for v in s.board) >= 2]
    for state in rng.sample(states, 40):
        values = {
            a: minimax(state.play(a), lambda s: s.outcome(), [10**6]) for a in state.legal_actions()
        }
        mover = {a: state.to_play * v for a, v in values.items()}
        assert table[state] == {a for a, v in mover.items() if v == max(mover.values())}


def test_go_2x2_is_black_by_one():
    solution = solve(Position(2, komi=0))
    assert solution.value == 1


def test_go_positions_agree_with_minimax_whatever_their_history():
    # Random 2x2 positions deep enough for brute force, with and without suicide: each carries
    # its own superko history, which the solver's transposition table must respect.
    rng = random.Random(1)
    checked = 0
    while checked < 25:
        position = Position(2, komi=0, suicide_allowed=rng.random() < 0.5)
        for _ in range(rng.randrange(8, 16)):
            if position.is_terminal():
                break
            position = position.play(rng.choice(position.legal_actions()))
        if position.is_terminal():
            continue
        try:
            expected = minimax(position, go_margin, [3000])
        except TooBig:
            continue
        assert solve(position).value == expected, position
        checked += 1


def test_go_positions_cannot_be_tabulated_by_state_alone():
    with pytest.raises(ValueError, match="history"):
        optimal_actions_table(Position(2))
