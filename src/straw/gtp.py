"""The Go Text Protocol (GTP 2, https://www.lysator.liu.se/~gunnar/gtp/): the engine's end.

    GTPEngine(player_factory)   serves GTP for a player: Go GUIs (Sabaki, GoGui), CGOS, matches

`python -m straw gtp` serves it on stdin and stdout. The other end, which drives a GTP engine
such as GNU Go as an opponent, is `straw.gtp_client`. A *player* is what `straw.arena.Player`
says: `new_game(size, komi)`, `play(action)` for every move in order, and `genmove()`, which
returns a move for the side to move without playing it.

A GTP exchange is one line in, one reply out: `=` and the result on success, `?` and a message on
failure, then a blank line; a command that starts with a number gets that number back (`=3 C4`):

    > 3 play black C3          < =3
    > genmove white            < = D4
    > play black C3            < ? illegal move: C3 is occupied

The engine keeps the authoritative game: the moves so far and the `Position` they lead to, under
the Tromp-Taylor rules with positional superko and, by default, suicide forbidden (as GNU Go and
CGOS play). It checks every move before the player sees it, so a player never receives an illegal
one, and it undoes by starting the player's game again and replaying all moves but the last.

One departure from GTP: the protocol lets either colour `play` at any time, but a `Position`
always alternates colours, and so do straw's players. A move for the colour that is not to move
(White playing twice in a row) is answered `? illegal move` with that reason, and `genmove` for
it is refused too; a controller that means it can send a pass for the other colour first. After
two passes the game is over: `play` is refused and `genmove` answers `pass`, changing nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import straw
from straw.arena import Player
from straw.coords import COLOR_LETTERS, PointError, format_point, format_result, parse_point
from straw.game import IllegalMove
from straw.go import BLACK, NAMES, WHITE, Position, replay

MAX_SIZE = 19  # the largest board `Position` plays (GTP allows 25)
COLORS = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}
COMMANDS = (  # GTP 2's required commands, and the ones a game between programs needs
    "protocol_version", "name", "version", "known_command", "list_commands", "quit",
    "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
)  # fmt: skip


class _Failure(Exception):
    """A command's failure: the engine answers `? message`."""


# --- The engine -----------------------------------------------------------------------------


class GTPEngine:
    """A GTP engine: `handle(line)` answers one command line; `serve` answers a whole session.

    `player_factory()` makes the player once; each new board calls its `new_game`. The engine
    never raises on any input: a command it cannot carry out is answered `? message`.
    """

    def __init__(
        self,
        player_factory: Callable[[], Player],
        name: str = "straw",
        version: str = straw.__version__,
        size: int = 9,
        komi: float = 7.5,
        suicide_allowed: bool = False,
    ):
        self.name = name
        self.version = version
        self.suicide_allowed = suicide_allowed
        self.player = player_factory()
        self.size = size
        self.komi = komi
        self.moves: list[int] = []
        self.position = Position(size, komi, suicide_allowed)
        self.quit_requested = False
        self.commands = {name: getattr(self, f"gtp_{name}") for name in COMMANDS}
        self.player.new_game(size, komi)

    def handle(self, line: str | bytes) -> str | None:
        """The full reply to one command line (ending in a blank line), or None for a line
        that holds no command (empty, or only a comment)."""
        if isinstance(line, bytes | bytearray):
            line = bytes(line).decode("utf-8", errors="replace")
        # GTP separates words by spaces and tabs only (the tabs are spaces by now); str.split()
        # would also split on Unicode spaces, and a line of only U+00A0 would get no reply.
        words = [word for word in _preprocess(line).split(" ") if word]
        if not words:
            return None
        # An id is a number; echo it as the controller wrote it (int() fails on huge ones).
        command_id = words.pop(0) if _is_number(words[0]) else ""
        if not words:
            return _reply("?", command_id, "syntax error: a command must follow the id")
        name, arguments = words[0], words[1:]
        handler = self.commands.get(name)
        if handler is None:
            return _reply("?", command_id, "unknown command")
        try:
            return _reply("=", command_id, handler(arguments))
        except _Failure as failure:
            return _reply("?", command_id, str(failure))
        except Exception as error:  # a bug in a player must not end the session
            message = f"internal error: {type(error).__name__}: {error}"
            try:
                self._restart_player()  # the player may have half-played a move: resynchronise
            except Exception as again:
                message += f"; restarting the player failed too: {type(again).__name__}: {again}"
            return _reply("?", command_id, message)

    def serve(self, stdin, stdout) -> None:
        """Answer commands from `stdin` (lines of text or bytes) on `stdout` until `quit` or
        the end of input. Bytes that are not UTF-8 are read as U+FFFD."""
        for line in stdin:
            reply = self.handle(line)
            if reply is not None:
                stdout.write(reply)
                stdout.flush()
            if self.quit_requested:
                break

    # --- Administrative commands -------------------------------------------------------------

    def gtp_protocol_version(self, arguments) -> str:
        _expect(arguments, 0)
        return "2"

    def gtp_name(self, arguments) -> str:
        _expect(arguments, 0)
        return self.name

    def gtp_version(self, arguments) -> str:
        _expect(arguments, 0)
        return self.version

    def gtp_known_command(self, arguments) -> str:
        _expect(arguments, 1)
        return "true" if arguments[0] in self.commands else "false"

    def gtp_list_commands(self, arguments) -> str:
        _expect(arguments, 0)
        return "\n".join(self.commands)

    def gtp_quit(self, arguments) -> str:
        self.quit_requested = True  # quit succeeds whatever its arguments
        return ""

    # --- Setting up the game -----------------------------------------------------------------

    def gtp_boardsize(self, arguments) -> str:
        _expect(arguments, 1)
        if not _is_number(arguments[0]):
            raise _Failure("syntax error: boardsize takes a whole number")
        text = arguments[0].lstrip("0") or "0"
        if len(text) > 2 or not 2 <= int(text) <= MAX_SIZE:
            raise _Failure(f"unacceptable size: straw plays boards of 2 to {MAX_SIZE}")
        self.size = int(text)
        self._new_game([])
        return ""

    def gtp_clear_board(self, arguments) -> str:
        _expect(arguments, 0)
        self._new_game([])
        return ""

    def gtp_komi(self, arguments) -> str:
        _expect(arguments, 1)
        try:
            komi = float(arguments[0])
        except ValueError:
            raise _Failure("syntax error: komi takes a number, as 7.5") from None
        if not math.isfinite(komi):
            raise _Failure("syntax error: komi must be a finite number")
        self.komi = komi
        self._new_game(self.moves)  # players learn the komi from new_game, so replay
        return ""

    # --- Playing -----------------------------------------------------------------------------

    def gtp_play(self, arguments) -> str:
        _expect(arguments, 2)
        color = _parse_color(arguments[0])
        action = _parse_vertex(arguments[1], self.size)
        position = self.position
        if color != position.to_play:
            raise _Failure(
                f"illegal move: {NAMES[color]} is not to move; {NAMES[-color]} is (straw's "
                f"positions alternate colours: send 'play {COLOR_LETTERS[-color]} pass' first)"
            )
        try:
            after = position.play(action)
        except IllegalMove as reason:
            raise _Failure(f"illegal move: {reason}") from None
        self.player.play(action)
        self.position = after
        self.moves.append(action)
        return ""

    def gtp_genmove(self, arguments) -> str:
        _expect(arguments, 1)
        color = _parse_color(arguments[0])
        position = self.position
        if position.is_terminal():
            return "pass"  # both players passed: the game is over and a pass changes nothing
        if color != position.to_play:
            raise _Failure(
                f"{NAMES[color]} is not to move; {NAMES[-color]} is (straw's positions "
                "alternate colours)"
            )
        action = self.player.genmove()
        try:
            after = position.play(action)
        except IllegalMove as reason:
            raise _Failure(f"internal error: the player chose an illegal move: {reason}") from None
        action = int(action)
        self.player.play(action)
        self.position = after
        self.moves.append(action)
        return format_point(action, self.size)

    def gtp_undo(self, arguments) -> str:
        _expect(arguments, 0)
        if not self.moves:
            raise _Failure("cannot undo")
        self._new_game(self.moves[:-1])
        return ""

    def gtp_showboard(self, arguments) -> str:
        _expect(arguments, 0)
        return "\n" + str(self.position)

    def gtp_final_score(self, arguments) -> str:
        """The Tromp-Taylor score with komi, every stone counted alive: 'B+3.5', 'W+0.5', '0'."""
        _expect(arguments, 0)
        return format_result(self.position.score())

    # --- Helpers -----------------------------------------------------------------------------

    def _new_game(self, moves: list[int]) -> None:
        """Start the game again on an empty board and replay `moves`, the player too."""
        # They were legal when they were played, so the replay raises nothing.
        self.position = replay(moves, self.size, self.komi, self.suicide_allowed)
        self.moves = list(moves)
        self._restart_player()

    def _restart_player(self) -> None:
        self.player.new_game(self.size, self.komi)
        for action in self.moves:
            self.player.play(action)


def _preprocess(line: str) -> str:
    """A command line as GTP 2 section 2.5 prepares it: control characters other than tab
    removed (a line ending, CR included), everything from '#' on removed, tabs made spaces."""
    line = "".join(c for c in line if c == "\t" or not (c < " " or c == "\x7f"))
    return line.split("#", 1)[0].replace("\t", " ")


def _reply(mark: str, command_id: str, text: str) -> str:
    """`=id text` or `?id text` and a blank line. A blank line ends a reply, so none may be
    inside it: empty lines in a multi-line text are dropped."""
    first, *rest = text.split("\n")
    lines = [f"{mark}{command_id} {first}"] + [line for line in rest if line.strip()]
    return "\n".join(lines) + "\n\n"


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone accepts '²' and '٣'


def _expect(arguments: list[str], count: int) -> None:
    if len(arguments) != count:
        raise _Failure(f"syntax error: expected {count} argument(s), got {len(arguments)}")


def _parse_vertex(text: str, size: int) -> int:
    """The action for a GTP vertex ('C3', 'pass', any case): GTP 2 calls a vertex off the board
    an illegal move, and anything else that is not a vertex a syntax error."""
    try:
        return parse_point(text, size)
    except PointError as error:
        kind = "illegal move" if error.off_board else "syntax error"
        raise _Failure(f"{kind}: {error}") from None


def _parse_color(text: str) -> int:
    color = COLORS.get(text.lower())
    if color is None:
        raise _Failure(f"syntax error: {text!r} is not a colour (b, w, black or white)")
    return color
