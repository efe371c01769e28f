"""Rules of Go (Tromp-Taylor), tested on positions drawn as diagrams.

Diagrams are drawn rows from top to bottom (X black, O white, . empty), and points are named as
players name them: column letter (no I), row 1 at the bottom. `C3` on a 5x5 board is the centre.
"""

import random
import re

import numpy as np
import pytest

from straw.go import (
    BLACK,
    EMPTY,
    WHITE,
    IllegalMove,
    Position,
    format_point,
    parse_point,
    play_moves,
    replay,
    utility,
)


def load(diagram, to_play=BLACK, komi=0.0, suicide_allowed=True):
    return Position.from_diagram(
        diagram, to_play=to_play, komi=komi, suicide_allowed=suicide_allowed
    )


def play(position, *moves):
    """Play moves written as players write them: play(position, 'C3', 'pass', 'D4')."""
    return play_moves(position, moves)


def assert_board(position, diagram):
    assert position.board == load(diagram).board, f"\n{position}"


def liberties(position, point):
    group = position.group_at(parse_point(point, position.size))
    return {format_point(liberty, position.size) for liberty in group.liberties}


# --- Captures -----------------------------------------------------------------------------------


def test_capture_a_single_stone_in_the_centre_on_the_edge_and_in_the_corner():
    centre = load(
        """
        . . . . .
        . . X . .
        . X O X .
        . . . . .
        . . . . .
        """
    )
    assert_board(
        play(centre, "C2"),
        """
        . . . . .
        . . X . .
        . X . X .
        . . X . .
        . . . . .
        """,
    )
    edge = load(
        """
        X . . . .
        O X . . .
        . . . . .
        . . . . .
        . . . . .
        """
    )
    assert play(edge, "A3").board[parse_point("A4", 5)] == EMPTY
    corner = load(
        """
        . . . . .
        . . . . .
        . . . . .
        . . . . .
        O X . . .
        """
    )
    after = play(corner, "A2")
    assert after.board[parse_point("A1", 5)] == EMPTY
    assert liberties(after, "A2") == {"A1", "A3", "B2"}  # the captured point is a liberty again


def test_capture_a_group_on_the_edge():
    position = load(
        """
        . . . . .
        . . . . .
        . . . . .
        X X X . .
        O O O . .
        """
    )
    assert liberties(position, "A1") == {"D1"}
    assert_board(
        play(position, "D1"),
        """
        . . . . .
        . . . . .
        . . . . .
        X X X . .
        . . . X .
        """,
    )


def test_one_play_captures_four_groups_and_is_not_suicide():
    position = load(
        """
        . . X . .
        . X O X .
        X O . O X
        . X O X .
        . . X . .
        """
    )
    after = play(position, "C3")  # every neighbour of C3 is white, but each has only C3 left
    assert_board(
        after,
        """
        . . X . .
        . X . X .
        X . X . X
        . X . X .
        . . X . .
        """,
    )
    assert liberties(after, "C3") == {"B3", "C4", "D3", "C2"}


def test_a_play_that_looks_like_suicide_is_legal_when_it_captures():
    position = load(
        """
        . . . . .
        . . . . .
        . . . . .
        O X . . .
        . O X . .
        """,
        suicide_allowed=False,
    )
    after = play(position, "A1")  # both neighbours white, but B1 has no other liberty
    assert_board(
        after,
        """
        . . . . .
        . . . . .
        . . . . .
        O X . . .
        X . X . .
        """,
    )


def test_snapback_the_capturing_group_is_captured_back():
    position = load(
        """
        . . . . .
        X X X . .
        O O X . .
        . O X . .
        . O X . .
        """
    )
    throw_in = play(position, "A2")  # Black offers a stone; White's group is in atari
    assert liberties(throw_in, "A3") == {"A1"}
    taken = play(throw_in, "A1")  # White captures it, and is left with A2 as its only liberty
    assert liberties(taken, "A3") == {"A2"}
    assert_board(
        play(taken, "A2"),  # the stone snaps back: five white stones come off
        """
        . . . . .
        X X X . .
        . . X . .
        X . X . .
        . . X . .
        """,
    )


# --- Ko and positional superko ------------------------------------------------------------------

KO = """
    . . . . .
    . . . . .
    . . . . .
    O X . . .
    . O X . .
    """


def test_immediate_ko_recapture_is_forbidden_by_positional_superko():
    taken = play(load(KO), "A1")  # Black takes the ko
    with pytest.raises(IllegalMove, match="B1 recreates an earlier position.*superko"):
        play(taken, "B1")
    assert not taken.is_legal(parse_point("B1", 5))
    assert parse_point("B1", 5) not in taken.legal_actions()
    # After an exchange elsewhere (a ko threat and its answer) the board is new: White may retake.
    retaken = play(taken, "E5", "E4", "B1")
    assert retaken.board[parse_point("A1", 5)] == EMPTY


def test_a_four_move_cycle_is_forbidden_by_superko_not_by_simple_ko():
    # Trimmed from a cycle found by searching random 4x4 games for a superko rejection that is
    # not an immediate recapture. White captures two at A2, Black plays A4, White A1, and Black's
    # capture of two at A3 would bring back the starting position, four moves later.
    start = load(
        """
        X O . .
        X O . .
        . X . .
        . X . .
        """,
        to_play=WHITE,
    )
    middle = play(start, "A2")
    assert_board(
        middle,
        """
        . O . .
        . O . .
        O X . .
        . X . .
        """,
    )
    before = play(middle, "A4", "A1")
    cycle_closing = """
        X O . .
        . O . .
        O X . .
        O X . .
        """
    assert_board(before, cycle_closing)
    with pytest.raises(IllegalMove, match="A3 recreates an earlier position.*superko"):
        play(before, "A3")
    # Simple ko would not forbid it: the same board without its history allows A3 ...
    fresh = load(cycle_closing)
    assert fresh == before
    assert play(fresh, "A3").board == start.board
    # ... because the board it repeats is the start, four moves back, not the one two moves back.
    assert play(fresh, "A3").board != play(middle, "A4").board
    # What a solver asks of the history: A3 is refused because it recreates the start's board,
    # one of the boards of the game so far; the same board without history refuses nothing.
    assert before.superko_refusals() == [start.board_hash]
    assert before.history_hashes() == {
        p.board_hash for p in (start, middle, play(middle, "A4"), before)
    }
    assert fresh.superko_refusals() == [] and fresh.history_hashes() == {fresh.board_hash}


# --- Suicide ------------------------------------------------------------------------------------

ONE_STONE_SUICIDE = """
    . O . .
    O . O .
    . O . .
    . . . .
    """

TWO_STONE_SUICIDE = """
    . O . .
    O X O .
    O . O .
    . O . .
    """


def test_suicide_of_one_stone_is_illegal_under_both_options():
    with pytest.raises(IllegalMove, match="B3 is suicide, which these rules forbid"):
        play(load(ONE_STONE_SUICIDE, suicide_allowed=False), "B3")
    # Tromp-Taylor allows suicide, but one stone's suicide leaves the board as it was: superko.
    with pytest.raises(IllegalMove, match="B3 is suicide of a single stone.*superko"):
        play(load(ONE_STONE_SUICIDE, suicide_allowed=True), "B3")


def test_suicide_of_two_stones_is_legal_only_when_allowed():
    with pytest.raises(IllegalMove, match="B2 is suicide"):
        play(load(TWO_STONE_SUICIDE, suicide_allowed=False), "B2")
    before = load(TWO_STONE_SUICIDE, suicide_allowed=True)
    after = play(before, "B2")  # both black stones leave the board
    assert_board(
        after,
        """
        . O . .
        O . O .
        O . O .
        . O . .
        """,
    )
    assert after != before and after.to_play == WHITE
    assert liberties(after, "A3") == {"A4", "B3", "B2", "A1"}
    forbidding = load(TWO_STONE_SUICIDE, suicide_allowed=False)
    assert parse_point("B2", 4) not in forbidding.legal_actions()
    assert parse_point("B2", 4) in before.legal_actions()


def test_a_play_that_captures_nothing_may_recreate_a_board_with_more_stones():
    # The suicide takes two stones off; then Black at B3, next to an empty point and capturing
    # nothing, would bring back the first board: superko forbids it, and legal_actions knows.
    after = play(play(load(TWO_STONE_SUICIDE, suicide_allowed=True), "B2"), "pass")
    assert parse_point("B3", 4) not in after.legal_actions()
    with pytest.raises(IllegalMove, match="B3 recreates an earlier position"):
        play(after, "B3")


# --- End of the game and scoring ----------------------------------------------------------------


def test_two_passes_in_a_row_end_the_game():
    position = Position(5, komi=0.5)
    assert not play(position, "pass").is_terminal()
    assert not play(position, "pass", "C3", "pass").is_terminal()  # a play breaks the run
    over = play(position, "C3", "pass", "pass")
    assert over.is_terminal() and over.legal_actions() == []
    assert over.outcome() == 1.0 and over.result() == "B+24.5"  # one stone owns the board
    with pytest.raises(IllegalMove, match="game is over"):
        play(over, "D4")
    with pytest.raises(ValueError, match="not over"):
        position.outcome()


def test_seki_shared_liberty_counts_for_nobody():
    seki = load(
        """
        . X X O O
        X X X O O
        X X . O O
        X X X O O
        X X X O .
        """
    )
    # Black: 13 stones + eye A5 = 14. White: 9 stones + eye E1 = 10. C3 touches both: nobody's.
    assert seki.tromp_taylor_score() == 14 - 10
    # It is a seki: whoever fills the shared liberty is captured through its own eye.
    assert_board(
        play(seki, "C3", "A5"),
        """
        O . . O O
        . . . O O
        . . . O O
        . . . O O
        . . . O .
        """,
    )


TWO_WALLS = """
    . X . O .
    . X . O .
    . X . O .
    . X . O .
    . X . O .
    """


def test_empty_regions_count_for_the_only_colour_they_reach():
    position = load(TWO_WALLS)
    # A column is Black's, E column White's, C column reaches both and counts for neither.
    assert position.tromp_taylor_score() == 10 - 10
    assert Position(5).tromp_taylor_score() == 0  # the empty board reaches nobody
    assert play(Position(5), "C3").tromp_taylor_score() == 25


def test_ownership_marks_each_point_and_sums_to_the_score():
    position = load(TWO_WALLS)
    owners = np.array(position.ownership()).reshape(5, 5)
    assert (owners[:, :2] == BLACK).all() and (owners[:, 3:] == WHITE).all()
    assert (owners[:, 2] == 0).all()  # the middle column reaches both colours: nobody's
    assert sum(position.ownership()) == position.tromp_taylor_score()
    assert Position(5).ownership() == (0,) * 25


def test_score_and_outcome_subtract_komi():
    over = play(load(TWO_WALLS, komi=0), "pass", "pass")
    assert over.score() == 0 and over.outcome() == 0.0 and over.result() == "Draw"
    with_komi = play(load(TWO_WALLS, komi=7.5), "pass", "pass")
    assert with_komi.score() == -7.5 and with_komi.outcome() == -1.0
    assert with_komi.result() == "W+7.5"


def test_own_eyes_that_random_rollouts_never_fill():
    eyes = """
        . X . . .
        X X X X .
        . X . X .
        X X X O .
        . X . X .
        """
    black = load(eyes, to_play=BLACK)

    def is_eye(position, point):
        return position.is_own_eye(parse_point(point, 5))

    assert all(is_eye(black, point) for point in ("A5", "A3", "A1", "C3"))  # C3: one O diagonal
    assert not is_eye(black, "C1")  # on the edge, an opposing diagonal makes the eye false
    assert not is_eye(black, "E5") and not is_eye(black, "B4")  # open point, occupied point
    assert not is_eye(load(eyes, to_play=WHITE), "C3")  # an eye belongs to its owner only


# --- Coordinates, errors, identity, display -----------------------------------------------------


def test_coordinates_are_written_as_players_write_them():
    assert parse_point("A1", 9) == 72  # bottom left
    assert parse_point("J9", 9) == 8  # top right: after H comes J, I is skipped
    assert parse_point("c3", 5) == 12 and format_point(12, 5) == "C3"
    assert parse_point("pass", 9) == 81 and format_point(81, 9) == "pass"
    assert parse_point("T19", 19) == 18 and parse_point("A19", 19) == 0
    for size in (2, 5, 9, 19):
        for action in range(size * size + 1):
            assert parse_point(format_point(action, size), size) == action


@pytest.mark.parametrize(
    "text, message",
    [
        ("I5", "skip the letter I"),
        ("K1", "off the 9x9 board"),
        ("A10", "off the 9x9 board"),
        ("A0", "off the 9x9 board"),
        ("C", "not a point"),
        ("33", "not a point"),
        ("", "not a point"),
    ],
)
def test_bad_coordinates_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_point(text, 9)


def test_illegal_actions_say_why():
    position = play(Position(5), "C3")
    with pytest.raises(IllegalMove, match="C3 is occupied"):
        play(position, "C3")
    with pytest.raises(IllegalMove, match="off the 5x5 board"):
        position.play(26)
    with pytest.raises(IllegalMove, match="off the 5x5 board"):
        position.play(-1)
    with pytest.raises(IllegalMove, match="parse_point"):
        position.play("C4")
    with pytest.raises(ValueError, match="not a point"):
        format_point(26, 5)


def test_equal_positions_are_equal_and_hash_alike_however_they_were_reached():
    empty = Position(5)
    one = play(empty, "C3", "D4", "B2")
    other = play(empty, "B2", "D4", "C3")  # legal: one's line of play is not other's history
    assert one == other and hash(one) == hash(other)
    assert {one: "seen"}[other] == "seen"  # a transposition table finds it
    drawn = """
        . . . . .
        . . . O .
        . . X . .
        . X . . .
        . . . . .
        """
    assert one == load(drawn, to_play=WHITE, komi=7.5)  # the history is not compared
    assert eval(repr(one), {"Position": Position, "WHITE": WHITE}) == one
    assert one != play(one, "pass")  # same board, other player to move
    assert play(one, "pass", "E5") != play(one, "E5")  # same board, but one pass ago
    assert one != play(Position(5, komi=0.5), "C3", "D4", "B2")  # other rules


def test_play_returns_a_new_position_and_leaves_the_old_one_alone():
    position = play(Position(5), "C3")
    board, key = position.board, hash(position)
    for action in position.legal_actions():
        position.play(action)
    assert position.board == board and hash(position) == key and position.to_play == WHITE


def test_diagram_errors():
    with pytest.raises(ValueError, match="square"):
        Position.from_diagram("...\n..")
    with pytest.raises(ValueError, match="only X, O and"):
        Position.from_diagram("X?\n..")
    with pytest.raises(ValueError, match="B1 has no liberties"):
        Position.from_diagram(".X\nXO")  # White's B1 is surrounded


def test_a_position_shows_as_text_and_as_svg():
    position = play(Position(5, komi=0), "C3", "D4")
    assert str(position) == "\n".join(
        [
            "   A B C D E",
            " 5 . . . . . 5",
            " 4 . . . O . 4",
            " 3 . . X . . 3",
            " 2 . . . . . 2",
            " 1 . . . . . 1",
            "   A B C D E",
            "Black (X) to play, komi 0",
        ]
    )
    svg = position._repr_svg_()
    assert svg.startswith("<svg") and svg.endswith("</svg>") and svg == position.svg()
    assert svg.count('fill="#000" stroke="#000"') == 1 and svg.count('fill="#fff"') == 1
    assert ">C</text>" in svg and ">5</text>" in svg
    star_points = Position(9).svg().count('r="3.2"/>')  # tengen and the four 3-3 points
    assert star_points == 5


def test_board_coordinates_stay_clear_of_the_edge_stones():
    # A ring of stones on every edge point: no coordinate label may touch one, nor leave the board.
    for size, cell in ((5, 32), (9, 32), (19, 32), (5, 20), (7, 48)):
        ring = ["X" * size] + ["X" + "." * (size - 2) + "X"] * (size - 2) + ["X" * size]
        svg = Position.from_diagram("\n".join(ring)).svg(cell=cell)
        font = float(re.search(r'font-size="([\d.]+)"', svg)[1])
        width = float(re.search(r'width="([\d.]+)"', svg)[1])
        stone = r'<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)" fill'
        stones = [tuple(map(float, found)) for found in re.findall(stone, svg)]
        label = r'<text x="([\d.]+)" y="([\d.]+)"[^>]*>(\w+)</text>'
        labels = [(float(x), float(y), text) for x, y, text in re.findall(label, svg)]
        assert len(stones) == 4 * size - 4 and len(labels) == 4 * size
        assert font >= 0.4 * cell - 0.05  # printed to a tenth of a pixel
        for x, y, text in labels:
            # The label's box: a digit or letter of sans-serif is at most 0.6 em wide, 0.8 em tall.
            half_width, half_height = 0.3 * font * len(text), 0.4 * font
            assert half_width <= x <= width - half_width and half_height <= y <= width - half_height
            for cx, cy, r in stones:  # the label's box and the stone's box do not overlap
                clear = abs(x - cx) >= half_width + r or abs(y - cy) >= half_height + r
                assert clear, f"{text} touches the stone at ({cx}, {cy}) on {size}x{size}"


# --- The incremental engine against from-scratch references -------------------------------------


def flood_fill_groups(board, size):
    """Every stone's group and liberties, found from scratch: the reference for the engine."""
    found = {}
    for start in range(size * size):
        if board[start] == EMPTY or start in found:
            continue
        stones, libs, frontier = {start}, set(), [start]
        while frontier:
            row, col = divmod(frontier.pop(), size)
            for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
                if 0 <= r < size and 0 <= c < size:
                    neighbour = r * size + c
                    if board[neighbour] == EMPTY:
                        libs.add(neighbour)
                    elif board[neighbour] == board[start] and neighbour not in stones:
                        stones.add(neighbour)
                        frontier.append(neighbour)
        for stone in stones:
            found[stone] = (frozenset(stones), frozenset(libs))
    return found


def random_games(size, suicide_allowed, games, seed):
    """Every position of seeded random games (uniform over legal actions, passes included)."""
    rng = random.Random(seed)
    for _ in range(games):
        position = Position(size, suicide_allowed=suicide_allowed)
        yield position
        while not position.is_terminal():
            position = position.play(rng.choice(position.legal_actions()))
            yield position


@pytest.mark.parametrize("size, suicide_allowed", [(5, True), (5, False), (9, True), (9, False)])
def test_incremental_groups_equal_a_flood_fill_after_every_move(size, suicide_allowed):
    boards_seen = []
    for position in random_games(size, suicide_allowed, games=6, seed=size):
        board = position.board
        if position.passes == 0 and position.last_move is not None:
            # Checked on real boards, not hashes: no play ever repeats a board of its game.
            assert board not in boards_seen
        if position.last_move is None:
            boards_seen = []
        boards_seen.append(board)
        reference = flood_fill_groups(board, size)
        for point in range(size * size):
            group = position.group_at(point)
            if board[point] == EMPTY:
                assert group is None
            else:
                assert (frozenset(group.stones), group.liberties) == reference[point]
                assert group.color == board[point] and len(group.stones) == len(reference[point][0])


@pytest.mark.parametrize("size, suicide_allowed", [(4, True), (5, False), (7, True)])
def test_legal_actions_equal_brute_force_on_random_positions(size, suicide_allowed):
    for position in random_games(size, suicide_allowed, games=12, seed=1):
        brute_force = []
        for action in range(position.num_actions):
            try:
                position.play(action)
                brute_force.append(action)
            except IllegalMove:
                pass
        assert position.legal_actions() == brute_force
        assert [a for a in range(position.num_actions) if position.is_legal(a)] == brute_force


def test_play_moves_takes_actions_or_points_and_names_an_illegal_move():
    after = play_moves(Position(5, komi=0), ["C3", "pass", 7])  # 7 is C4
    assert after.board[12] == BLACK and after.board[7] == BLACK and after.to_play == WHITE
    assert replay(["C3", "pass", 7], size=5, komi=0) == after
    with pytest.raises(IllegalMove, match=r"move 2 \(White C3\) is illegal: C3 is occupied"):
        play_moves(Position(5), ["C3", 12])


def test_utility_is_the_outcome_at_weight_zero_and_grows_with_the_margin():
    assert [utility(s, 5, 0.0) for s in (-3, 0, 0.5)] == [-1.0, 0.0, 1.0]
    assert utility(1, 5, 0.5) == pytest.approx(0.52)  # B+1
    assert utility(25, 5, 0.5) == 1.0  # B+25, the solved 5x5 result
    assert utility(-40, 5, 1.0) == -1.0  # the margin is clipped to the board's area
    won = replay(["B1", "A1", "C3", "pass", "pass"], size=5, komi=0)
    assert won.result() == "B+1" and won.utility(0.5) == pytest.approx(0.52)
