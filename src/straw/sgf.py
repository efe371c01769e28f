"""Game records in SGF (Smart Game Format, https://www.red-bean.com/sgf/), through sgfmill.

    write_sgf(moves, size, komi, result)  the bytes of an SGF file; save_game writes one
    read_sgf(data) -> GameRecord          size, komi, moves, result and players of a file;
                                          load_game reads one
    sgfmill_area_score(moves, size)       Black's area minus White's, by sgfmill, not by us

A record is a list of actions, as `straw.go` numbers them (`row * size + col` from the top left,
`size * size` for the pass), Black first and the colours alternating. SGF numbers rows from the
top too, but sgfmill, like GTP, counts them from the bottom: `_to_sgfmill` and `_from_sgfmill`
convert. Reading replays every move through `straw.go.Position`, so a file with an illegal move is
refused with the move number and the reason. Only the main line is read; setup stones and
handicap are refused, since our games start on an empty board with Black to play.

`sgfmill_area_score` is the book's independent scoring oracle: sgfmill's `Board` is a separate
implementation of captures (it allows suicide and knows nothing of ko, which a replay of a legal
game never needs) and its `area_score` counts every stone alive, as Tromp-Taylor does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sgfmill import boards, sgf

import straw
from straw.coords import COLOR_LETTERS, format_point
from straw.game import IllegalMove
from straw.go import BLACK, NAMES, Position, replay

COLOURS = COLOR_LETTERS  # sgfmill names the colours 'b' and 'w'


class SGFError(ValueError):
    """A file that is not an SGF game straw can read; the message says where and why."""


@dataclass(frozen=True)
class GameRecord:
    """What an SGF file says about a game, and the position its moves lead to."""

    size: int
    komi: float
    moves: tuple[int, ...]
    result: str | None = None  # as SGF writes it: 'B+3.5', 'W+R', '0' or 'Draw'
    black: str | None = None  # the players' names
    white: str | None = None
    rules: str | None = None
    position: Position | None = field(default=None, compare=False, repr=False)


def write_sgf(
    moves,
    size: int,
    komi: float,
    result: str | None = None,
    black: str = "Black",
    white: str = "White",
    rules: str = "Tromp-Taylor",
) -> bytes:
    """The SGF file of a game: `moves` are actions, Black first, passes as `size * size`."""
    game = sgf.Sgf_game(size=size)
    root = game.get_root()
    root.set("AP", ("straw", straw.__version__))
    root.set("KM", float(komi))
    root.set("RU", rules)
    root.set("PB", black)
    root.set("PW", white)
    if result is not None:
        root.set("RE", result)
    color = BLACK
    for number, action in enumerate(moves, start=1):
        if not 0 <= action <= size * size:
            raise ValueError(
                f"move {number}: action {action} is not a point of a {size}x{size} "
                f"board, nor the pass ({size * size})"
            )
        game.extend_main_sequence().set_move(COLOURS[color], _to_sgfmill(action, size))
        color = -color
    return game.serialise()


def read_sgf(data: bytes | str, suicide_allowed: bool = True) -> GameRecord:
    """The game an SGF file records, every move replayed under the Tromp-Taylor rules.

    Raises `SGFError` if the file does not parse, is not a Go game straw can represent (setup
    stones, handicap, a colour moving twice in a row, a board outside 2x2 to 19x19), or holds a
    move the rules forbid (`suicide_allowed=False` forbids suicide too, as GNU Go does).
    """
    game = _parse(data)
    root = game.get_root()
    try:
        size, komi = game.get_size(), game.get_komi()
        game_type = root.get("GM") if root.has_property("GM") else 1
        handicap = root.get("HA") if root.has_property("HA") else 0
        black, white = game.get_player_name("b"), game.get_player_name("w")
        result = root.get("RE") if root.has_property("RE") else None
        rules = root.get("RU") if root.has_property("RU") else None
    except ValueError as error:
        raise SGFError(f"a game property is malformed: {error}") from None
    if game_type != 1:
        raise SGFError(f"this is not a game of Go: GM[{game_type}] (Go is GM[1])")
    if handicap not in (0, 1):  # HA[1] places no stone
        raise SGFError(
            f"handicap games (HA[{handicap}]) are not supported: straw's games start on an "
            "empty board"
        )
    try:
        Position(size, komi, suicide_allowed)
    except ValueError as error:
        raise SGFError(f"straw cannot play this board: {error}") from None

    moves = []
    for node_number, node in enumerate(game.get_main_sequence()):
        if node.has_setup_stones():
            raise SGFError(
                f"node {node_number} places setup stones (AB, AW or AE), which are not "
                "supported: straw's games start on an empty board and change only by moves"
            )
        number = len(moves) + 1
        try:
            color_name, point = node.get_move()
        except ValueError:
            prop = "B" if node.has_property("B") else "W"
            raw = node.get_raw(prop).decode("utf-8", "replace")
            raise SGFError(
                f"move {number}: {prop}[{raw}] is not a point of a {size}x{size} board"
            ) from None
        if color_name is None:
            continue
        color = BLACK if color_name == "b" else -BLACK
        action = _from_sgfmill(point, size)
        if color != (BLACK if len(moves) % 2 == 0 else -BLACK):  # Black moves first
            raise SGFError(
                f"move {number}: {NAMES[color]} plays twice in a row "
                f"({format_point(action, size)}); straw's games alternate colours"
            )
        moves.append(action)
    try:
        position = replay(moves, size, komi, suicide_allowed)
    except IllegalMove as error:
        raise SGFError(str(error)) from None
    return GameRecord(size, komi, tuple(moves), result, black, white, rules, position)


def save_game(path, moves, size: int, komi: float, **info) -> Path:
    """Write a game to an SGF file; `info` as `write_sgf` takes it (result, black, white, rules)."""
    path = Path(path)
    path.write_bytes(write_sgf(moves, size, komi, **info))
    return path


def load_game(path, suicide_allowed: bool = True) -> GameRecord:
    """Read the SGF file at `path`, as `read_sgf` does."""
    return read_sgf(Path(path).read_bytes(), suicide_allowed)


def sgfmill_area_score(moves, size: int) -> int:
    """Black's area minus White's after `moves`, by sgfmill: every stone counted alive, no komi.

    sgfmill's `Board` captures and allows suicide by its own code and never checks ko, so for
    a legal game this is an independent Tromp-Taylor score to compare `tromp_taylor_score` with.
    """
    board = boards.Board(size)
    color = BLACK
    for action in moves:
        if action != size * size:
            row, col = _to_sgfmill(action, size)
            board.play(row, col, COLOURS[color])
        color = -color
    return board.area_score()


# --- Helpers --------------------------------------------------------------------------------


def _parse(data: bytes | str) -> sgf.Sgf_game:
    """sgfmill's game tree of a file, or an `SGFError` that says why there is none."""
    try:
        if isinstance(data, str):
            return sgf.Sgf_game.from_string(data)
        return sgf.Sgf_game.from_bytes(bytes(data))
    except Exception as error:  # sgfmill raises ValueError, but a bad file must never crash us
        raise SGFError(f"not an SGF file straw can read: {error}") from None


def _to_sgfmill(action: int, size: int) -> tuple[int, int] | None:
    """sgfmill's (row, col), rows counted from the bottom; None for the pass."""
    if action == size * size:
        return None
    row, col = divmod(action, size)
    return size - 1 - row, col


def _from_sgfmill(point: tuple[int, int] | None, size: int) -> int:
    if point is None:
        return size * size
    row, col = point
    return (size - 1 - row) * size + col
