"""The GTP engine, command by command as GTP 2 specifies it; the client; a match with GNU Go."""

import argparse
import io
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from straw.go import WHITE, Position, format_point, parse_point
from straw.gtp import GTPEngine
from straw.gtp_client import (
    GnuGoPlayer,
    GTPClient,
    GTPError,
    GTPPlayer,
    GTPTimeout,
    find_gnugo,
)
from straw.sgf import load_game, save_game, sgfmill_area_score

STRAW_GTP = [sys.executable, "-m", "straw", "gtp"]


class TinyRandomPlayer:
    """The smallest player: any legal move, the pass included, at random."""

    def __init__(self, seed: int = 0, suicide_allowed: bool = False):
        self.rng = random.Random(seed)
        self.suicide_allowed = suicide_allowed
        self.position = None

    def new_game(self, size: int, komi: float) -> None:
        self.position = Position(size, komi, self.suicide_allowed)

    def play(self, action: int) -> None:
        self.position = self.position.play(action)

    def genmove(self) -> int:
        return self.rng.choice(self.position.legal_actions())


@pytest.fixture
def engine():
    return GTPEngine(TinyRandomPlayer, size=5, komi=7.5)


def ask(engine, *lines):
    """The replies to several lines, the last one returned."""
    replies = [engine.handle(line) for line in lines]
    return replies[-1]


def assert_consistent(engine):
    """The engine's position is its moves replayed, and the player sees the same game."""
    position = Position(engine.size, engine.komi, engine.suicide_allowed)
    for action in engine.moves:
        position = position.play(action)
    assert engine.position == position
    assert engine.player.position == position
    assert engine.handle("showboard") == "= \n" + str(position) + "\n\n"


# --- Administrative commands ----------------------------------------------------------------


def test_protocol_name_and_version(engine):
    assert engine.handle("protocol_version") == "= 2\n\n"
    assert engine.handle("name") == "= straw\n\n"
    assert engine.handle("version").startswith("= 0.")


def test_an_id_is_echoed_on_success_and_on_failure(engine):
    assert engine.handle("7 protocol_version") == "=7 2\n\n"
    assert engine.handle("12 frobnicate") == "?12 unknown command\n\n"
    huge = "9" * 5000  # more digits than int() converts: echoed as written
    assert engine.handle(f"{huge} name") == f"={huge} straw\n\n"


def test_known_command_and_list_commands(engine):
    listed = engine.handle("list_commands")[2:-2].split("\n")
    assert set(listed) == {
        "protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
        "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score", "quit",
    }  # fmt: skip
    assert all(engine.handle(f"known_command {name}") == "= true\n\n" for name in listed)
    assert engine.handle("known_command gg-undo") == "= false\n\n"
    assert engine.handle("known_command") == "? syntax error: expected 1 argument(s), got 0\n\n"


def test_unknown_commands_and_bad_arguments(engine):
    assert engine.handle("PLAY b C3") == "? unknown command\n\n"  # command names are exact
    assert engine.handle("3") == "?3 syntax error: a command must follow the id\n\n"
    assert engine.handle("name extra").startswith("? syntax error")
    assert engine.handle("play b").startswith("? syntax error")
    assert engine.handle("play red C3").startswith("? syntax error")


def test_lines_are_preprocessed_as_gtp_says(engine):
    assert engine.handle("") is None
    assert engine.handle("   \t ") is None
    assert engine.handle("# a comment") is None
    assert engine.handle("name # what is your name?") == "= straw\n\n"
    assert engine.handle("\tprotocol_version\t\r\n") == "= 2\n\n"
    assert engine.handle("pro\x01tocol_ver\x7fsion") == "= 2\n\n"  # control characters go
    assert engine.handle(b"name \xff\xfe") == "? syntax error: expected 0 argument(s), got 1\n\n"


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2003", "\x85", "\u2028"])
def test_only_space_and_tab_separate_words_and_every_line_is_answered(engine, space):
    # GTP is ASCII: other whitespace is part of a word, and a line of it gets a reply (a
    # controller waiting for one would otherwise wait forever).
    assert engine.handle(space) == "? unknown command\n\n"
    assert engine.handle(f"19{space}name") == "? unknown command\n\n"
    assert engine.handle(f"name{space}") == "? unknown command\n\n"
    expected = "?19 syntax error: expected 0 argument(s), got 1\n\n"
    assert engine.handle(f"19 name {space}") == expected


# --- Setting up the game --------------------------------------------------------------------


@pytest.mark.parametrize("size", ["2", "5", "19", "007"])
def test_boardsize_clears_the_board(engine, size):
    assert ask(engine, "play b C3", f"boardsize {size}") == "= \n\n"
    assert engine.size == int(size) and engine.moves == []
    assert engine.position == Position(int(size), 7.5, suicide_allowed=False)


@pytest.mark.parametrize("size", ["0", "1", "20", "25", "99999999999999999999999999999"])
def test_boardsize_out_of_range_is_an_unacceptable_size(engine, size):
    assert engine.handle(f"boardsize {size}").startswith("? unacceptable size")
    assert engine.size == 5


@pytest.mark.parametrize("size", ["nine", "-5", "5.0", "²"])
def test_boardsize_that_is_not_a_number_is_a_syntax_error(engine, size):
    assert engine.handle(f"boardsize {size}").startswith("? syntax error")


def test_clear_board(engine):
    assert ask(engine, "play b C3", "play w D4", "clear_board") == "= \n\n"
    assert engine.moves == [] and engine.position.board == (0,) * 25
    assert_consistent(engine)


def test_komi_applies_to_the_game_in_progress(engine):
    assert ask(engine, "play b C3", "komi 0.5") == "= \n\n"
    assert engine.position.komi == 0.5 and engine.player.position.komi == 0.5
    assert engine.moves == [parse_point("C3", 5)]
    assert engine.handle("final_score") == "= B+24.5\n\n"
    for bad in ("komi seven", "komi nan", "komi inf", "komi"):
        assert engine.handle(bad).startswith("? syntax error"), bad
    assert engine.komi == 0.5


# --- Playing --------------------------------------------------------------------------------


def test_play_accepts_either_case_and_colour_name(engine):
    assert ask(engine, "play black c3", "play W d4", "play B pass", "play white PASS") == "= \n\n"
    assert engine.moves == [12, 8, 25, 25] and engine.position.is_terminal()
    assert_consistent(engine)


def test_an_illegal_play_is_refused_with_the_reason(engine):
    engine.handle("play b C3")
    assert engine.handle("play w C3") == "? illegal move: C3 is occupied\n\n"
    assert engine.handle("play w F1") == "? illegal move: F1 is off the 5x5 board (A1 to E5)\n\n"
    assert engine.handle("play w A0").startswith("? illegal move: A0 is off the 5x5 board")
    assert engine.handle("play w I3").startswith("? syntax error")  # GTP has no column I
    assert engine.handle("play w C").startswith("? syntax error")
    assert engine.moves == [12]


def test_a_colour_that_is_not_to_move_is_refused(engine):
    # GTP allows White to play twice; straw's positions alternate colours, so the engine
    # refuses it, saying how to get there: a pass for Black first.
    engine.handle("play b C3")
    reply = engine.handle("play b D3")
    assert reply.startswith("? illegal move: Black is not to move; White is")
    assert "play w pass" in reply
    assert ask(engine, "play w pass", "play b D3") == "= \n\n"


def test_a_ko_recapture_is_an_illegal_move(engine):
    #     A B C D E
    #   5 . . . . .
    #   4 . X O . .      Black C3 captures B3; White B3 at once would recreate the position
    #   3 X O . O .
    #   2 . X O . .
    #   1 . . . . .
    for line in ["b B4", "w C4", "b A3", "w B3", "b B2", "w C2", "b pass", "w D3", "b C3"]:
        assert engine.handle(f"play {line}") == "= \n\n"
    reply = engine.handle("play w B3")
    assert reply == "? illegal move: B3 recreates an earlier position (positional superko)\n\n"


def test_suicide_follows_the_option(engine):
    moves = ["b A3", "w A1", "b B2", "w A2", "b C1"]  # White's A1 A2 have one liberty: B1
    assert ask(engine, *(f"play {m}" for m in moves), "play w B1").startswith(
        "? illegal move: B1 is suicide"
    )
    tromp_taylor = GTPEngine(
        lambda: TinyRandomPlayer(suicide_allowed=True), size=5, suicide_allowed=True
    )
    assert ask(tromp_taylor, *(f"play {m}" for m in moves), "play w B1") == "= \n\n"
    assert tromp_taylor.position.board[parse_point("A1", 5)] == 0  # the two stones left


def test_genmove_plays_the_players_move(engine):
    reply = engine.handle("genmove b")
    vertex = reply[2:-2]
    assert reply.startswith("= ") and engine.moves == [parse_point(vertex, 5)]
    assert engine.handle("genmove b").startswith("? Black is not to move")
    assert engine.handle("genmove green").startswith("? syntax error")
    assert_consistent(engine)


def test_genmove_after_the_game_ends_passes(engine):
    ask(engine, "play b pass", "play w pass")
    assert engine.handle("genmove b") == "= pass\n\n"
    assert len(engine.moves) == 2


def test_undo(engine):
    assert engine.handle("undo") == "? cannot undo\n\n"
    ask(engine, "play b C3", "genmove w", "play b pass")
    assert ask(engine, "undo", "undo") == "= \n\n"
    assert engine.moves == [parse_point("C3", 5)]
    assert_consistent(engine)


def test_showboard_draws_the_position(engine):
    engine.handle("play b C3")
    assert engine.handle("5 showboard") == (
        "=5 \n"
        "   A B C D E\n"
        " 5 . . . . . 5\n"
        " 4 . . . . . 4\n"
        " 3 . . X . . 3\n"
        " 2 . . . . . 2\n"
        " 1 . . . . . 1\n"
        "   A B C D E\n"
        "White (O) to play, komi 7.5\n\n"
    )


def test_final_score_is_tromp_taylor_with_komi(engine):
    # Black walls off columns A-C (15 points), White D-E (10 points): B+5 before komi.
    for row in "12345":
        ask(engine, f"play b C{row}", f"play w D{row}")
    assert engine.handle("final_score") == "= W+2.5\n\n"
    assert ask(engine, "komi 0", "final_score") == "= B+5\n\n"
    assert ask(engine, "komi 5", "final_score") == "= 0\n\n"
    assert ask(engine, "komi 5.5", "final_score") == "= W+0.5\n\n"


def test_quit_ends_serve(engine):
    stdin = io.BytesIO(b"1 name\n\nquit\nname\n")
    stdout = io.StringIO()
    engine.serve(stdin, stdout)
    assert stdout.getvalue() == "=1 straw\n\n= \n\n"


def test_serve_reads_bytes_that_are_not_utf8(engine):
    stdout = io.StringIO()
    engine.serve(io.BytesIO(b"\xff\xfe\n2 play b \xc3(\nplay b c3\r\n"), stdout)
    assert stdout.getvalue() == (
        "? unknown command\n\n?2 syntax error: '\ufffd(' is not a point: write a column letter "
        "and a row (C3), or pass"
        "\n\n= \n\n"
    )


def test_a_broken_player_gives_an_error_not_a_crash(engine):
    def broken():
        raise RuntimeError("out of ideas")

    engine.player.genmove = broken
    assert engine.handle("genmove b") == "? internal error: RuntimeError: out of ideas\n\n"
    engine.player.genmove = lambda: 12
    assert ask(engine, "play b C3", "genmove w").startswith("? internal error: the player chose")
    assert engine.moves == [12]
    assert_consistent(engine)


# --- Fuzzing --------------------------------------------------------------------------------

COMMAND_NAMES = [
    "protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
    "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score", "quit",
    "gg-undo", "Play", "loadsgf", "",
]  # fmt: skip
vertices = st.one_of(
    st.just("pass"),
    st.builds(
        "{}{}".format, st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZacjz"), st.integers(-2, 30)
    ),
)
arguments = st.one_of(
    vertices,
    st.sampled_from(["b", "w", "black", "WHITE", "x", "resign"]),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["2", "5", "9", "19", "20", "1e3", "9" * 50]),
    st.floats(allow_nan=True).map(str),
    st.text(max_size=6),
)
command_lines = st.builds(
    lambda command_id, name, args: " ".join([command_id, name, *args]).strip(),
    st.one_of(st.just(""), st.integers(0, 10**40).map(str)),
    st.sampled_from(COMMAND_NAMES),
    st.lists(arguments, max_size=3),
)
colours = st.sampled_from(["b", "w", "black", "white"])
well_formed_lines = st.one_of(
    st.builds("play {} {}{}".format, colours, st.sampled_from("ABCDEFGHJ"), st.integers(1, 9)),
    st.builds("play {} pass".format, colours),
    st.builds("genmove {}".format, colours),
    st.sampled_from(["undo", "showboard", "final_score", "clear_board", "komi 0.5", "komi -3"]),
    st.builds("boardsize {}".format, st.integers(0, 21)),
)
lines = st.one_of(
    well_formed_lines,
    well_formed_lines,
    well_formed_lines,
    command_lines,
    st.text(max_size=30),
    st.binary(max_size=30).map(lambda data: data.decode("utf-8", errors="replace")),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 60), st.lists(lines, max_size=40), st.integers(0, 2**32))
def test_fuzz_every_reply_is_well_formed_and_the_state_consistent(opening, script, seed):
    engine = GTPEngine(lambda: TinyRandomPlayer(seed), size=9)
    for _ in range(opening):  # a game under way, with captures and kos to get wrong
        engine.handle("genmove " + ("b" if engine.position.to_play == 1 else "w"))
    for line in script:
        reply = engine.handle(line)
        if reply is None:  # only for a line with nothing but spaces and a comment
            assert not "".join(c for c in line if " " <= c != "\x7f").split("#")[0].split()
            continue
        assert reply[0] in "=?" and reply.endswith("\n\n"), (line, reply)
        assert "\n\n" not in reply[:-2], (line, reply)  # a blank line would end it early
    assert_consistent(engine)


# --- The client, and straw as a subprocess --------------------------------------------------


def test_straw_gtp_as_a_subprocess():
    with GTPClient([*STRAW_GTP, "--size", "5", "--simulations", "8"], timeout=60) as client:
        assert client.send("protocol_version") == "2"
        assert client.send("name") == "straw"
        assert client.send("play b C3") == ""
        assert client.send("genmove w") != "C3"
        assert "X" in client.send("showboard")
        with pytest.raises(GTPError, match="illegal move: C3 is occupied") as error:
            client.send("play b C3")
        assert error.value.message == "illegal move: C3 is occupied"
        assert client.send("undo") == ""
        assert client.send("final_score") == "B+17.5"  # 25 points of Black's - 7.5
        assert client.send("boardsize 3") == ""
        assert client.send("final_score") == "W+7.5"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["gtp", "--size", "1"], "board sizes are 2 to 19"),
        (["gtp", "--size", "nine"], "invalid board_size value"),
        (["gtp", "--komi", "x"], "invalid komi value"),
        (["gtp", "--komi", "nan"], "komi must be a finite number, not nan"),
        (["gtp", "--komi", "inf"], "komi must be a finite number, not inf"),
        (["gtp", "--komi", "1e400"], "komi must be a finite number, not 1e400"),
        (["gtp", "--simulations", "0"], "must be 1 or more, not 0"),
        (["gtp", "--simulations", "-3"], "must be 1 or more, not -3"),
        (["gtp", "--simulations", "many"], "invalid positive value"),
        (["gtp", "--seed", "-1"], "seeds are 0 or more, not -1"),
        (["gtp", "--bogus"], "unrecognized arguments"),
        ([], "the following arguments are required: command"),
    ],
)
def test_bad_command_line_arguments_exit_with_usage(arguments, message):
    command = [sys.executable, "-m", "straw", *arguments]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert "usage: python -m straw" in finished.stderr and message in finished.stderr


@pytest.mark.parametrize("simulations", ["1", "2"])
def test_fewer_simulations_than_moves_still_give_a_legal_move(simulations):
    command = [*STRAW_GTP, "--size", "5", "--simulations", simulations]
    with GTPClient(command, timeout=60) as client:
        client.send("play b A5")  # the first point in action order: no longer a move
        assert client.send("genmove w") != "A5"  # a '?' reply would raise GTPError
        assert client.send("genmove b") not in ("A5", "pass")


def test_the_client_times_out_and_stops_a_silent_engine():
    silent = [sys.executable, "-c", "import time; time.sleep(60)"]
    with GTPClient(silent, timeout=0.5) as client:
        with pytest.raises(GTPTimeout, match="no reply within 0.5 s"):
            client.send("name")
        assert client._process.wait(timeout=5) is not None


def test_the_client_reports_an_engine_that_exits():
    dying = [sys.executable, "-c", "import sys; print('dying words', file=sys.stderr)"]
    with GTPClient(dying, timeout=10) as client:
        with pytest.raises(GTPError, match="(?s)has exited with code 0.*dying words"):
            client.send("name")
    with pytest.raises(GTPError, match="cannot start the engine"):
        GTPClient(["/nonexistent/engine"])
    with GTPClient(STRAW_GTP) as client, pytest.raises(ValueError, match="one line"):
        client.send("name\nname")


# --- GNU Go as a player, and a match against it ---------------------------------------------


def gnugo_stones(player: GTPPlayer) -> str:
    board = player.client.send("showboard")
    return "".join(c for line in board.splitlines()[1:-1] for c in line[3:14] if c in "XO")


def test_gnugo_player_sends_its_own_move_only_once():
    with GnuGoPlayer(level=0) as gnugo:
        gnugo.new_game(5, 7.5)
        gnugo.play(parse_point("C3", 5))
        action = gnugo.genmove()  # GNU Go has played it already ...
        gnugo.play(action)  # ... so this play is not sent again
        assert gnugo_stones(gnugo) in ("XO", "OX")
        gnugo.genmove()
        gnugo.play(parse_point("pass", 5))  # Black chose another move: GNU Go's is undone
        assert sorted(gnugo_stones(gnugo)) == ["O", "X"]
        assert gnugo.position.to_play == WHITE and gnugo.position.passes == 1


def test_a_match_against_gnugo_saved_as_sgf(tmp_path):
    komi = 7.5
    for game in range(2):
        with (
            GTPPlayer(
                [*STRAW_GTP, "--size", "5", "--seed", str(game), "--simulations", "8"]
            ) as straw,
            GnuGoPlayer(level=0, capture_all_dead=True, seed=game) as gnugo,
        ):
            players = [straw, gnugo] if game == 0 else [gnugo, straw]
            position = Position(5, komi, suicide_allowed=False)
            for player in players:
                player.new_game(5, komi)
            moves = []
            while not position.is_terminal() and len(moves) < 200:
                action = players[len(moves) % 2].genmove()
                position = position.play(action)
                moves.append(action)
                for player in players:
                    player.play(action)
            names = ("straw", "GNU Go") if game == 0 else ("GNU Go", "straw")
            path = save_game(
                tmp_path / f"game{game}.sgf",
                moves,
                5,
                komi,
                result=position.result(),
                black=names[0],
                white=names[1],
                rules="Tromp-Taylor, no suicide",
            )
        record = load_game(path, suicide_allowed=False)
        assert record.moves == tuple(moves) and record.result == position.result()
        assert (record.black, record.white) == names
        assert position.is_terminal(), [format_point(a, 5) for a in moves]
        assert record.position.tromp_taylor_score() == sgfmill_area_score(moves, 5)


def test_the_default_player_is_the_search_player():
    from straw.__main__ import default_player
    from straw.arena import MCTSPlayer

    player = default_player(argparse.Namespace(seed=0, suicide_allowed=False, simulations=8))
    assert isinstance(player, MCTSPlayer) and player.simulations == 8
    player.new_game(5, 7.5)
    player.play(player.genmove())


def test_find_gnugo_says_how_to_install_it(monkeypatch):
    import straw.gtp_client

    monkeypatch.setenv("GNUGO", "/nonexistent/gnugo")
    with pytest.raises(RuntimeError, match="GNUGO='/nonexistent/gnugo' is not an executable"):
        find_gnugo()
    monkeypatch.delenv("GNUGO")
    monkeypatch.setattr(straw.gtp_client.shutil, "which", lambda name: None)
    monkeypatch.setattr(straw.gtp_client.os, "access", lambda path, mode: False)
    with pytest.raises(RuntimeError, match="apt-get install gnugo.*/usr/games/gnugo"):
        find_gnugo()
