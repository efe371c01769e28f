"""The Go Text Protocol (GTP 2, https://www.lysator.liu.se/~gunnar/gtp/): both ends of it.

    GTPEngine(player_factory)   serves GTP for a player: Go GUIs (Sabaki, GoGui), CGOS, matches
    GTPClient(command)          drives any GTP engine in a subprocess
    GTPPlayer(command)          a GTP engine as a player; GnuGoPlayer is GNU Go as one

A *player* is any object with three methods (the match runner in `straw.arena` uses the same):

    new_game(size, komi)   start a game on an empty board
    play(action)           a move by whoever is to move, in order; the player keeps its own Position
    genmove() -> action    a move for the side to move, which it does not play: the caller then
                           calls play(action) on every player, this one included

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
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import straw
from straw.games import IllegalMove
from straw.go import BLACK, COLUMNS, NAMES, WHITE, Position, format_point

MAX_SIZE = 19  # the largest board `Position` plays (GTP allows 25)
COLORS = {"b": BLACK, "black": BLACK, "w": WHITE, "white": WHITE}
GTP_COLORS = {BLACK: "b", WHITE: "w"}
COMMANDS = (  # GTP 2's required commands, and the ones a game between programs needs
    "protocol_version", "name", "version", "known_command", "list_commands", "quit",
    "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
)  # fmt: skip


class Player(Protocol):
    """What the engine and the match runner need from a player (see the module docstring)."""

    def new_game(self, size: int, komi: float) -> None: ...

    def play(self, action: int) -> None: ...

    def genmove(self) -> int: ...


class GTPError(RuntimeError):
    """A GTP engine answered `?`, or stopped answering; `message` is what it said."""

    def __init__(self, message: str, command: str | None = None):
        self.message = message
        self.command = command
        super().__init__(f"{command!r}: {message}" if command else message)


class GTPTimeout(GTPError, TimeoutError):
    """A GTP engine did not answer in time; the client has stopped it."""


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
        action = self._parse_vertex(arguments[1])
        position = self.position
        if color != position.to_play:
            raise _Failure(
                f"illegal move: {NAMES[color]} is not to move; {NAMES[-color]} is (straw's "
                f"positions alternate colours: send 'play {GTP_COLORS[-color]} pass' first)"
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
        score = self.position.score()
        if score == 0:
            return "0"
        return f"{'B' if score > 0 else 'W'}+{abs(score):g}"

    # --- Helpers -----------------------------------------------------------------------------

    def _new_game(self, moves: list[int]) -> None:
        """Start the game again on an empty board and replay `moves`, the player too."""
        position = Position(self.size, self.komi, self.suicide_allowed)
        for action in moves:
            position = position.play(action)  # they were legal when they were played
        self.position, self.moves = position, list(moves)
        self._restart_player()

    def _restart_player(self) -> None:
        self.player.new_game(self.size, self.komi)
        for action in self.moves:
            self.player.play(action)

    def _parse_vertex(self, text: str) -> int:
        """The action for a GTP vertex ('C3', 'pass', any case) on this board."""
        if text.lower() == "pass":
            return self.size * self.size
        match = re.fullmatch(r"([A-Za-z])([0-9]{1,9})", text)
        if match is None or match[1].upper() == "I":
            raise _Failure(f"syntax error: {text!r} is not a vertex (write C3 or pass; no I)")
        col, number = COLUMNS.find(match[1].upper()), int(match[2])
        if not (0 <= col < self.size and 1 <= number <= self.size):
            last = f"{COLUMNS[self.size - 1]}{self.size}"
            raise _Failure(f"illegal move: {text} is off the board (A1 to {last})")
        return (self.size - number) * self.size + col


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


def _parse_color(text: str) -> int:
    color = COLORS.get(text.lower())
    if color is None:
        raise _Failure(f"syntax error: {text!r} is not a colour (b, w, black or white)")
    return color


# --- The client -----------------------------------------------------------------------------


class GTPClient:
    """A GTP engine in a subprocess: `send(command)` returns its reply's text or raises GTPError.

    A thread reads the engine's output into a queue, so a reply can be awaited with a timeout
    and an engine that writes a lot never blocks. After a timeout the engine is stopped, since
    its late reply would be taken for the next command's. Use as a context manager, or `close()`.
    """

    def __init__(self, command: list[str], timeout: float = 60.0):
        self.command = list(command)
        self.timeout = timeout
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            raise GTPError(f"cannot start the engine {self.command}: {error}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def send(self, command: str, timeout: float | None = None) -> str:
        """The text of the engine's reply to `command` (without '= '); GTPError on '?'."""
        if "\n" in command or "\r" in command:
            raise ValueError(f"a GTP command is one line, got {command!r}")
        if self._process.poll() is not None:
            raise GTPError(self._exit_message(), command)
        try:
            self._process.stdin.write(command.encode() + b"\n")
            self._process.stdin.flush()
        except OSError:
            raise GTPError(self._exit_message(), command) from None
        return self._read_reply(command, self.timeout if timeout is None else timeout)

    def close(self) -> None:
        """Ask the engine to quit, then make sure it has ended."""
        process = self._process
        if process.poll() is None:
            try:
                process.stdin.write(b"quit\n")
                process.stdin.flush()
                process.stdin.close()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()
        for reader in self._readers:  # they stop at the end of the engine's output
            reader.join(timeout=5)
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                stream.close()
            except OSError:
                pass

    def __enter__(self) -> GTPClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _read_reply(self, command: str, timeout: float) -> str:
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._process.kill()
                raise GTPTimeout(
                    f"no reply within {timeout:g} s; engine stopped", command
                ) from None
            if line is None:
                raise GTPError(self._exit_message(), command)
            if not lines and not line.strip():
                continue  # blank lines between replies
            if lines and not line.strip():
                break
            lines.append(line)
        match = re.match(r"([=?])[0-9]*(.*)", lines[0])
        if match is None:
            raise GTPError(f"not a GTP reply: {lines[0]!r}", command)
        text = "\n".join([match[2].strip(), *lines[1:]]).strip()
        if match[1] == "?":
            raise GTPError(text, command)
        return text

    def _read_stdout(self) -> None:
        try:
            for raw in self._process.stdout:
                self._lines.put(_preprocess_reply(raw.decode("utf-8", errors="replace")))
        except (OSError, ValueError):  # the stream was closed under us by close()
            pass
        self._lines.put(None)  # end of output: the engine has exited

    def _read_stderr(self) -> None:
        try:
            for raw in self._process.stderr:
                self._stderr_tail.append(raw.decode("utf-8", errors="replace").rstrip())
        except (OSError, ValueError):
            pass

    def _exit_message(self) -> str:
        try:  # the engine has closed its output: give it a moment to exit and say why
            code = self._process.wait(timeout=1)
            self._readers[1].join(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        stderr = "\n".join(self._stderr_tail)
        state = "closed its output" if code is None else f"has exited with code {code}"
        return f"the engine {self.command[0]} {state}" + (
            f"; its stderr:\n{stderr}" if stderr else ""
        )


def _preprocess_reply(line: str) -> str:
    """A reply line as GTP 2 asks a controller to read it: control characters but tab removed,
    tabs made spaces."""
    line = "".join(c for c in line if c == "\t" or not (c < " " or c == "\x7f"))
    return line.replace("\t", " ")


# --- GTP engines as players -----------------------------------------------------------------


class GTPPlayer:
    """Any GTP engine as a player (see the module docstring), through a `GTPClient`.

    `genmove` makes a GTP engine play the move it generates. So `genmove` here remembers that
    move as already played, and the `play` call that follows it for the same move is not sent
    again; if the caller plays a different move instead, the engine's move is undone first.
    """

    def __init__(self, command: list[str], timeout: float = 60.0, suicide_allowed: bool = False):
        self.client = GTPClient(command, timeout)
        self.suicide_allowed = suicide_allowed
        self.position: Position | None = None
        self._already_played: int | None = None  # genmove's move, which the engine has played

    def new_game(self, size: int, komi: float) -> None:
        self.client.send(f"boardsize {size}")
        self.client.send("clear_board")
        self.client.send(f"komi {komi}")
        self.position = Position(size, komi, self.suicide_allowed)
        self._already_played = None

    def play(self, action: int) -> None:
        position = self.position
        after = position.play(action)  # IllegalMove before the engine hears of it
        already_played, self._already_played = self._already_played, None
        if action != already_played:
            if already_played is not None:
                self.client.send("undo")
            color = GTP_COLORS[position.to_play]
            self.client.send(f"play {color} {format_point(action, position.size)}")
        self.position = after

    def genmove(self) -> int:
        if self._already_played is not None:
            self.client.send("undo")  # genmove twice without play: take the first move back
            self._already_played = None
        position = self.position
        color = GTP_COLORS[position.to_play]
        vertex = self.client.send(f"genmove {color}")
        if vertex.lower() == "resign":
            raise GTPError("the engine resigned, which straw's games do not allow", "genmove")
        action = self._parse_vertex(vertex)
        self._already_played = action
        return action

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> GTPPlayer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _parse_vertex(self, vertex: str) -> int:
        size = self.position.size
        if vertex.lower() == "pass":
            return size * size
        col, number = COLUMNS.find(vertex[:1].upper()), vertex[1:]
        if col < 0 or not _is_number(number) or not 1 <= int(number) <= size:
            raise GTPError(f"the engine answered {vertex!r}, not a vertex", "genmove")
        return (size - int(number)) * size + col


class GnuGoPlayer(GTPPlayer):
    """GNU Go 3.8 as a player: by default its weakest level, area scoring (`--chinese-rules`)
    and positional superko, so that it plays the rules straw plays (suicide stays forbidden, as
    GNU Go forbids it by default). `capture_all_dead` makes it remove dead stones before it
    passes, so a Tromp-Taylor count agrees with the judgement of life and death. It never
    resigns (`--never-resign`): straw's games are played out."""

    def __init__(
        self,
        level: int = 0,
        chinese_rules: bool = True,
        positional_superko: bool = True,
        capture_all_dead: bool = False,
        seed: int = 0,
        gnugo: str | None = None,
        timeout: float = 60.0,
    ):
        command = [gnugo or find_gnugo(), "--mode", "gtp", "--quiet", "--never-resign"]
        command += ["--level", str(level), "--seed", str(seed)]
        if chinese_rules:
            command.append("--chinese-rules")
        if positional_superko:
            command.append("--positional-superko")
        if capture_all_dead:
            command.append("--capture-all-dead")
        super().__init__(command, timeout)


def find_gnugo() -> str:
    """The GNU Go binary: $GNUGO, else `gnugo` on PATH, else Debian's /usr/games/gnugo."""
    from_env = os.environ.get("GNUGO")
    if from_env:
        if os.path.isfile(from_env) and os.access(from_env, os.X_OK):
            return from_env
        raise RuntimeError(f"GNUGO={from_env!r} is not an executable file")
    found = shutil.which("gnugo")
    if found:
        return found
    if os.access("/usr/games/gnugo", os.X_OK):
        return "/usr/games/gnugo"
    raise RuntimeError(
        "GNU Go is not installed: install it (Debian/Ubuntu: apt-get install gnugo, which puts "
        "the binary at /usr/games/gnugo; macOS: brew install gnu-go), or set GNUGO to its path"
    )
