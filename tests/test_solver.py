"""The exact solver: known values of solved games, and agreement with plain minimax (no table,
no pruning) on positions small enough for it, superko histories included."""

import math
import random

import pytest

from straw.go import Position, parse_point
from straw.solver import (
    SolveBudgetExceeded,
    Solver,
    action_values,
    go_margin,
    optimal_actions_table,
    reachable_states,
    solve,
)
from straw.tictactoe import TicTacToe


class TooBig(Exception):
    pass


def minimax(state, value, budget: list[int], depth: int = 0) -> float:
    """Player +1's payoff under perfect play, by brute force; `budget` caps the nodes, and
    games longer than 400 moves are too big too (Python's recursion limit)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 400:
        raise TooBig
    if state.is_terminal():
        return value(state)
    values = [minimax(state.play(a), value, budget, depth + 1) for a in state.legal_actions()]
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


def test_go_3x3_is_black_by_nine_and_only_the_centre_wins_it():
    # About a second on one core. Each first move's exact margin, drawn where it is played:
    # the centre takes the whole board, a side wins by 3, a corner (or a pass) loses everything.
    empty = Position(3, komi=0, suicide_allowed=False)
    solution = solve(empty)
    assert solution.value == 9 and solution.best_actions == [parse_point("B2", 3)]
    values = action_values(empty)
    drawn = """
        -9  3 -9
         3  9  3
        -9  3 -9
        """
    assert [values[point] for point in range(9)] == [int(v) for v in drawn.split()]
    assert values[empty.pass_action] == -9


def late_positions(size, seed, moves):
    """Positions of random games after `moves` moves or more, superko histories and all."""
    rng = random.Random(seed)
    while True:
        position = Position(size, komi=0, suicide_allowed=rng.random() < 0.5)
        for _ in range(rng.randrange(moves, 2 * moves)):
            if position.is_terminal():
                break
            position = position.play(rng.choice(position.legal_actions()))
        if not position.is_terminal():
            yield position


def test_go_3x3_positions_near_the_end_agree_with_minimax():
    # Late in a random 3x3 game, few moves are left and brute force is affordable; the history
    # of each (a dozen boards or more) is what the solver's table must respect.
    checked = 0
    for position in late_positions(3, seed=2, moves=14):
        try:
            expected = minimax(position, go_margin, [4000])
        except TooBig:
            continue
        assert solve(position).value == expected, position
        checked += 1
        if checked == 12:
            break


def test_a_solver_that_keeps_its_table_agrees_with_fresh_solves():
    # One Solver through every position of two random 3x3 games (its table filled by the
    # earlier positions, with other histories), against a fresh solve of each position.
    rng = random.Random(3)
    solver = Solver()
    for _ in range(2):
        position = Position(3, komi=0, suicide_allowed=False)
        while not position.is_terminal():
            if len(position.legal_actions()) <= 5:  # the late positions: fresh solves are cheap
                assert solver.action_values(position) == action_values(position), position
            position = position.play(rng.choice(position.legal_actions()))


def test_a_board_too_big_to_solve_says_so_within_its_budget():
    with pytest.raises(SolveBudgetExceeded, match=r"budget of 1,000 positions(.|\n)*\.\.\.\.\."):
        solve(Position(5, komi=0), budget=1000)


def test_one_solver_serves_one_set_of_rules():
    solver = Solver()
    solver.solve(Position(2, komi=0))
    with pytest.raises(ValueError, match="one Solver per game and rules"):
        solver.solve(Position(2, komi=0.5))


def test_go_positions_cannot_be_tabulated_by_state_alone():
    with pytest.raises(ValueError, match="history"):
        optimal_actions_table(Position(2))


def test_a_drawn_move_is_worth_zero_not_minus_zero():
    values = action_values(TicTacToe().play(4))  # after X's centre, every O move draws or loses
    assert all(math.copysign(1, v) == 1 for v in values.values() if v == 0)
