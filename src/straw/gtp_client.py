"""The Go Text Protocol's other end: driving a GTP engine (GNU Go, say) as an opponent.

    GTPClient(command)          drives any GTP engine in a subprocess
    GTPPlayer(command)          a GTP engine as a player (`straw.arena.Player`)
    GnuGoPlayer(level)          GNU Go as one; find_gnugo() finds its binary

The engine's end, which serves straw's players to Go GUIs, is `straw.gtp`.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections import deque

from straw.coords import COLOR_LETTERS, PointError, format_point, parse_point
from straw.go import Position


class GTPError(RuntimeError):
    """A GTP engine answered `?`, or stopped answering; `message` is what it said."""

    def __init__(self, message: str, command: str | None = None):
        self.message = message
        self.command = command
        super().__init__(f"{command!r}: {message}" if command else message)


class GTPTimeout(GTPError, TimeoutError):
    """A GTP engine did not answer in time; the client has stopped it."""


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
            color = COLOR_LETTERS[position.to_play]
            self.client.send(f"play {color} {format_point(action, position.size)}")
        self.position = after

    def genmove(self) -> int:
        if self._already_played is not None:
            self.client.send("undo")  # genmove twice without play: take the first move back
            self._already_played = None
        position = self.position
        color = COLOR_LETTERS[position.to_play]
        vertex = self.client.send(f"genmove {color}")
        if vertex.lower() == "resign":
            raise GTPError("the engine resigned, which straw's games do not allow", "genmove")
        try:
            action = parse_point(vertex, position.size)
        except PointError:
            raise GTPError(f"the engine answered {vertex!r}, not a vertex", "genmove") from None
        self._already_played = action
        return action

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> GTPPlayer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


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
