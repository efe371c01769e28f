"""SGF records: round trips, files that are refused and why, and sgfmill as a scoring oracle."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgfmill import sgf

from straw import go
from straw.go import Position, format_point, parse_point
from straw.sgf import (
    GameRecord,
    SGFError,
    load_game,
    read_sgf,
    save_game,
    sgfmill_area_score,
    write_sgf,
)


def random_game(size: int, rng: random.Random, komi: float = 7.5) -> tuple[list[int], Position]:
    """A finished game under the rules GNU Go plays (suicide forbidden), played to two passes."""
    moves, position = go.random_game(size, rng, komi, suicide_allowed=False, max_moves=10**6)
    assert position.is_terminal()
    return moves, position


def play(size: int, *points: str) -> list[int]:
    return [parse_point(point, size) for point in points]


# --- Round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 9])
def test_write_then_read_gives_the_same_game(size):
    rng = random.Random(size)
    captures = passes = 0
    for game in range(20):
        moves, final = random_game(size, rng, komi=6.5)
        text = write_sgf(moves, size, 6.5, final.result(), black=f"rng {game}", white="rng")
        record = read_sgf(text, suicide_allowed=False)
        assert record == GameRecord(
            size, 6.5, tuple(moves), final.result(), f"rng {game}", "rng", "Tromp-Taylor"
        )
        assert record.position == final
        passes += moves.count(size * size)
        captures += sum(1 for a in moves if a != size * size) - sum(map(abs, final.board))
    assert passes >= 40 and captures > 0  # the games exercised passes and captures


def test_coordinates_follow_sgf_rows_from_the_top():
    # SGF writes A1, the bottom left corner of a 5x5 board, as column a, row e.
    text = write_sgf(play(5, "A1", "E5", "pass"), 5, 0.5)
    assert b";B[ae];W[ea];B[tt]" in text  # sgfmill writes a pass as tt on boards up to 19x19
    assert read_sgf(text).moves == tuple(play(5, "A1", "E5", "pass"))


def test_game_information_is_written_as_sgf_properties():
    root = sgf.Sgf_game.from_bytes(write_sgf([], 7, 7.5, "W+7.5", "straw", "GNU Go")).get_root()
    assert root.get("SZ") == 7 and root.get("KM") == 7.5 and root.get("RU") == "Tromp-Taylor"
    assert (root.get("PB"), root.get("PW"), root.get("RE")) == ("straw", "GNU Go", "W+7.5")
    assert root.get("AP")[0] == "straw"


def test_save_and_load(tmp_path):
    path = save_game(tmp_path / "game.sgf", play(5, "C3", "D4"), 5, 7.5, result="B+R")
    record = load_game(path)
    assert record.moves == tuple(play(5, "C3", "D4")) and record.result == "B+R"


def test_write_refuses_an_action_off_the_board():
    with pytest.raises(ValueError, match="move 2: action 26"):
        write_sgf([12, 26], 5, 7.5)


# --- Files that are refused -----------------------------------------------------------------


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "not an SGF file"),
        (b"this is not SGF", "not an SGF file"),
        ("(;SZ[abc])", "not an SGF file"),
        (b"(;GM[1]SZ[5]KM[seven])", "malformed"),
        (b"(;GM[2]SZ[5])", "not a game of Go"),
        (b"(;SZ[21])", "straw cannot play this board"),
        (b"(;SZ[5];B[cc];W[zz])", r"move 2: W\[zz\] is not a point"),
    ],
)
def test_a_file_that_does_not_parse_is_refused_with_a_reason(data, reason):
    with pytest.raises(SGFError, match=reason):
        read_sgf(data)


def test_an_illegal_move_is_named_by_number_and_reason():
    with pytest.raises(SGFError, match=r"move 2 \(White C3\) is illegal: C3 is occupied"):
        read_sgf(b"(;SZ[5];B[cc];W[cc])")


def test_a_ko_recapture_is_refused_by_positional_superko():
    # After move 8, Black C3 (move 9) captures B3; White B3 (move 10) would take back at once
    # and recreate the board after move 8.
    #     A B C D E
    #   5 . . . . .
    #   4 . X O . .
    #   3 X O . O .
    #   2 . X O . .
    #   1 . . . . .
    moves = play(5, "B4", "C4", "A3", "B3", "B2", "C2", "pass", "D3", "C3", "B3")
    assert read_sgf(write_sgf(moves[:9], 5, 7.5)).moves == tuple(moves[:9])
    with pytest.raises(SGFError, match=r"move 10 \(White B3\) is illegal: .*positional superko"):
        read_sgf(write_sgf(moves, 5, 7.5))


def test_a_colour_moving_twice_is_refused():
    with pytest.raises(SGFError, match="move 2: Black plays twice in a row"):
        read_sgf(b"(;SZ[5];B[cc];B[dd])")


def test_suicide_is_refused_when_the_rules_forbid_it():
    # White B1 (move 6) fills the last liberty of its own three stones in Black's corner:
    # Tromp-Taylor allows this suicide, GNU Go's rules do not.
    #     A B C D E
    #   3 X . . . .
    #   2 O X . . .
    #   1 O . X . .
    data = write_sgf(play(5, "A3", "A1", "B2", "A2", "C1", "B1"), 5, 7.5)
    assert read_sgf(data).position.board[parse_point("A1", 5)] == 0  # the suicide was played
    with pytest.raises(SGFError, match=r"move 6 \(White B1\) is illegal: B1 is suicide"):
        read_sgf(data, suicide_allowed=False)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"(;SZ[9]HA[2]AB[cg][gc];W[ee])", "handicap games"),
        (b"(;SZ[9]AB[ee];W[cc])", "node 0 places setup stones"),
        (b"(;SZ[9];B[ee];AW[cc];W[dd])", "node 2 places setup stones"),
        (b"(;SZ[9];B[ee]AE[ee])", "node 1 places setup stones"),
    ],
)
def test_setup_stones_and_handicap_are_not_supported(data, reason):
    with pytest.raises(SGFError, match=f"{reason}.*not supported"):
        read_sgf(data)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=60), st.integers(0, 200), st.binary(min_size=1, max_size=4))
def test_no_input_escapes_as_anything_but_an_sgf_error(prefix, cut, patch):
    """Random bytes, and a real file with bytes patched in, either read or raise SGFError."""
    game = write_sgf(play(5, "C3", "D4", "pass", "B2"), 5, 7.5, "W+1.5")
    for data in (prefix, game[:cut] + patch + game[cut + len(patch) :], prefix + game):
        try:
            read_sgf(data)
        except SGFError:
            pass


# --- sgfmill as the scoring oracle ----------------------------------------------------------


@pytest.mark.parametrize("size", [5, 7, 9])
def test_tromp_taylor_score_agrees_with_sgfmill(size):
    rng = random.Random(1000 + size)
    scores = set()
    for _ in range(200):
        moves, final = random_game(size, rng)
        assert final.tromp_taylor_score() == sgfmill_area_score(moves, size), [
            format_point(a, size) for a in moves
        ]
        scores.add(final.tromp_taylor_score())
    assert len(scores) > 5  # many different endings were scored, not one repeated
