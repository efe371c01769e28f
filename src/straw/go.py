"""Go under the Tromp-Taylor rules (https://tromp.github.io/go.html), fast enough for search.

The rules, as Tromp and Taylor state them, in the words this module uses:

- The board is a size x size grid of points, each empty, black or white. Black moves first.
- A *play* puts a stone of the player to move on an empty point, then removes every opposing
  group without liberties (a *capture*), then every own group without liberties (*suicide*).
- A play may not recreate any earlier whole-board position (*positional superko*).
- A *pass* changes nothing; the game ends after two passes in a row.
- A player's *area* is her stones plus the empty regions that reach only her colour; Black's
  area minus White's, minus komi, decides the game.

A `Position` is an immutable value: `play` returns a new one, so a search can keep every node of
its tree. Points are numbered `row * size + col` from the top left, and `size * size` is the pass;
players write points as `C3` (`parse_point`, `format_point`).

Why it is fast. A play never flood-fills: every group keeps its stones and its set of liberties,
and a play touches only the (at most four) groups next to it. A successor copies two flat lists
(colours, group of each point) and the small dict of groups, and shares everything else: groups
are immutable and shared between positions, and so is the game's history: positional superko
compares Zobrist hashes of whole boards, kept in a frozenset shared by many positions plus a short
tuple of the latest ones (`_seen`).
"""

from __future__ import annotations

import operator
import random
from functools import cache
from typing import NamedTuple

from straw.coords import COLUMNS, MARKS, format_point, format_result
from straw.coords import parse_point as parse_point  # players' coordinates live in straw.coords
from straw.game import IllegalMove

BLACK, WHITE, EMPTY = 1, -1, 0
NAMES = {BLACK: "Black", WHITE: "White"}
RECENT_HASHES = 16  # superko history: newest hashes kept in a tuple before joining a frozenset


class Group(NamedTuple):
    """A maximal set of connected stones of one colour, and the empty points next to it."""

    color: int
    stones: tuple[int, ...]
    liberties: frozenset[int]


class Position:
    """A Go position: the board, the player to move, the passes so far and the game's history.

    `Position(size, komi, suicide_allowed)` is the empty board with Black to play. Tromp-Taylor
    allows suicide of several stones (suicide of one stone would recreate the position, so
    superko forbids it); `suicide_allowed=False` forbids every suicide, as GNU Go and CGOS do.
    """

    num_players = 2  # the Game contract (straw.game): Black and White
    outcome_range = (-1.0, 1.0)  # `outcome` is the sign of the score, never the margin

    __slots__ = (
        "_geometry",
        "_komi",
        "_suicide_allowed",
        "_board",  # colour of every point: BLACK, WHITE or EMPTY
        "_group_of",  # id of the group of every stone (stale on empty points)
        "_groups",  # group id -> Group; a group's id is one of its stones
        "_board_hash",  # Zobrist hash of the board alone, as positional superko compares
        "_to_play",
        "_passes",  # passes in a row just before this position: 2 ends the game
        "_older_hashes",  # frozenset of the game's earlier board hashes, shared (see `_seen`)
        "_recent_hashes",  # tuple of the latest board hashes, this one included
        "_most_stones",  # the most stones on any board of the game so far, this one included
        "_last_move",
    )

    def __init__(self, size: int = 9, komi: float = 7.5, suicide_allowed: bool = True):
        self._setup([EMPTY] * (size * size), BLACK, komi, suicide_allowed)

    @classmethod
    def from_diagram(
        cls, diagram: str, to_play: int = BLACK, komi: float = 7.5, suicide_allowed: bool = True
    ) -> Position:
        """The position a diagram draws, rows from top to bottom: X black, O white, . empty.

        Spaces between points are ignored. The game's history starts at this position.
        """
        rows = ["".join(line.split()) for line in diagram.strip().splitlines()]
        size = len(rows)
        if any(len(row) != size for row in rows):
            lengths = [len(row) for row in rows]
            raise ValueError(f"a diagram must be square; got {size} rows of lengths {lengths}")
        marks = {mark: color for color, mark in MARKS.items()}
        if bad := set("".join(rows)) - set(marks):
            raise ValueError(f"a diagram holds only X, O and .; got {sorted(bad)}")
        position = cls.__new__(cls)
        board = [marks[mark] for row in rows for mark in row]
        position._setup(board, to_play, komi, suicide_allowed)
        return position

    def _setup(self, board: list[int], to_play: int, komi: float, suicide_allowed: bool) -> None:
        size = round(len(board) ** 0.5)
        if not 2 <= size <= 19 or size * size != len(board):
            raise ValueError(f"boards are 2x2 to 19x19; this one has {len(board)} points")
        if to_play not in (BLACK, WHITE):
            raise ValueError(f"to_play must be BLACK (+1) or WHITE (-1), got {to_play!r}")
        geometry = _geometry(size)
        group_of, groups = _groups_by_flood_fill(board, geometry.neighbours)
        for group in groups.values():
            if not group.liberties:
                point = format_point(min(group.stones), size)
                raise ValueError(f"the group at {point} has no liberties")
        board_hash = 0
        for point, color in enumerate(board):
            if color != EMPTY:
                board_hash ^= geometry.zobrist[color][point]
        self._geometry = geometry
        self._komi = komi
        self._suicide_allowed = suicide_allowed
        self._board = board
        self._group_of = group_of
        self._groups = groups
        self._board_hash = board_hash
        self._to_play = to_play
        self._passes = 0
        self._older_hashes = frozenset()
        self._recent_hashes = (board_hash,)
        self._most_stones = size * size - board.count(EMPTY)
        self._last_move = None

    # --- The rules --------------------------------------------------------------------------

    def play(self, action: int) -> Position:
        """The position after `action` (a point, or `pass_action`); raises `IllegalMove` if the
        Tromp-Taylor rules forbid it: an occupied point, a suicide under `suicide_allowed=False`,
        a play that recreates an earlier position (positional superko), or any move after the end.
        """
        geometry = self._geometry
        if self._passes >= 2:
            raise IllegalMove("the game is over: both players passed")
        if action.__class__ is not int:
            action = _as_int(action)  # numpy integers and bools are the ints they equal
        if action == geometry.pass_action:
            return self._successor(
                self._board, self._group_of, self._groups, self._board_hash, action
            )
        if not 0 <= action < geometry.area:
            raise IllegalMove(
                f"action {action} is off the {geometry.size}x{geometry.size} board "
                f"(points are 0..{geometry.area - 1}, pass is {geometry.pass_action})"
            )
        if self._board[action] != EMPTY:
            raise IllegalMove(f"{format_point(action, geometry.size)} is occupied")
        joined, attacked, captured, suicide, board_hash = self._consequences(action)
        if suicide and not self._suicide_allowed:
            raise IllegalMove(
                f"{format_point(action, geometry.size)} is suicide, which these rules forbid"
            )
        if self._seen(board_hash):
            raise IllegalMove(self._superko_reason(action, joined, suicide))
        return self._place(action, joined, attacked, captured, suicide, board_hash)

    def _consequences(self, point: int):
        """What a play at the empty `point` would do, without doing it.

        Returns the ids of the own groups it joins, of the opposing groups it attacks but does
        not capture, of those it captures; whether it is suicide; and the board hash after it.
        """
        color = self._to_play
        board, group_of, groups = self._board, self._group_of, self._groups
        zobrist = self._geometry.zobrist
        joined, attacked, captured = [], [], []
        has_liberty = False  # will the new stone's group have a liberty besides `point`?
        for neighbour in self._geometry.neighbours[point]:
            neighbour_color = board[neighbour]
            if neighbour_color == EMPTY:
                has_liberty = True
                continue
            group_id = group_of[neighbour]
            if neighbour_color == color:
                if group_id not in joined:
                    joined.append(group_id)
                    # `point` is one of its liberties; any other one survives the play.
                    if len(groups[group_id].liberties) > 1:
                        has_liberty = True
            elif group_id not in attacked and group_id not in captured:
                # An opposing group whose only liberty is `point` is captured (Tromp-Taylor 7).
                if len(groups[group_id].liberties) == 1:
                    captured.append(group_id)
                else:
                    attacked.append(group_id)
        suicide = not has_liberty and not captured
        board_hash = self._board_hash
        if suicide:
            # The stone and the groups it joins leave the board (Tromp-Taylor 7).
            for group_id in joined:
                for stone in groups[group_id].stones:
                    board_hash ^= zobrist[color][stone]
        else:
            board_hash ^= zobrist[color][point]
            for group_id in captured:
                for stone in groups[group_id].stones:
                    board_hash ^= zobrist[-color][stone]
        return joined, attacked, captured, suicide, board_hash

    def _place(self, point, joined, attacked, captured, suicide, board_hash) -> Position:
        """The position after a legal play at `point`, copying only what changes."""
        color = self._to_play
        neighbours = self._geometry.neighbours
        board = self._board.copy()
        group_of = self._group_of.copy()
        groups = self._groups.copy()

        # The new stone and the groups it joins become one group. It keeps the id of the
        # largest of them, so only the stones of the smaller ones need relabelling.
        board[point] = color
        liberties = {n for n in neighbours[point] if board[n] == EMPTY}
        if joined:
            group_id = max(joined, key=lambda g: len(groups[g].stones))
            stones = groups[group_id].stones
            for other_id in joined:
                other = groups.pop(other_id)
                liberties |= other.liberties
                if other_id != group_id:
                    stones += other.stones
                    for stone in other.stones:
                        group_of[stone] = group_id
            stones += (point,)
            liberties.discard(point)
        else:
            group_id, stones = point, (point,)
        group_of[point] = group_id
        groups[group_id] = Group(color, stones, frozenset(liberties))

        # Opposing groups next to it lose a liberty; those left with none are captured.
        for attacked_id in attacked:
            group = groups[attacked_id]
            groups[attacked_id] = Group(group.color, group.stones, group.liberties - {point})
        for captured_id in captured:
            _remove_group(captured_id, board, group_of, groups, neighbours)
        if suicide:
            _remove_group(group_id, board, group_of, groups, neighbours)
        return self._successor(board, group_of, groups, board_hash, point)

    def _successor(self, board, group_of, groups, board_hash, move) -> Position:
        """The position after `move`, from its parts. A pass shares this position's board."""
        position = Position.__new__(Position)
        position._geometry = self._geometry
        position._komi = self._komi
        position._suicide_allowed = self._suicide_allowed
        position._board = board
        position._group_of = group_of
        position._groups = groups
        position._board_hash = board_hash
        position._to_play = -self._to_play
        if move == self._geometry.pass_action:  # the board, and so the history, is unchanged
            position._passes = self._passes + 1
            position._older_hashes = self._older_hashes
            position._recent_hashes = self._recent_hashes
            position._most_stones = self._most_stones
        else:
            position._passes = 0
            recent = self._recent_hashes + (board_hash,)
            if len(recent) < RECENT_HASHES:
                position._older_hashes = self._older_hashes
                position._recent_hashes = recent
            else:
                position._older_hashes = self._older_hashes.union(recent)
                position._recent_hashes = ()
            stones = self._geometry.area - board.count(EMPTY)
            position._most_stones = max(self._most_stones, stones)
        position._last_move = move
        return position

    def _seen(self, board_hash: int) -> bool:
        """Whether a board with this hash occurred earlier in the game (Tromp-Taylor 6).

        The history is an immutable value like the rest of the position: a frozenset shared by
        every later position, plus a tuple of at most RECENT_HASHES newer hashes. A play copies
        the short tuple, and merges it into a new frozenset every RECENT_HASHES plays, so a
        position costs O(1) amortized however many siblings a search tree gives it.
        """
        return board_hash in self._recent_hashes or board_hash in self._older_hashes

    def _superko_reason(self, point, joined, suicide) -> str:
        where = format_point(point, self.size)
        if suicide and not joined:
            return (
                f"{where} is suicide of a single stone, which recreates the position "
                "(positional superko)"
            )
        return f"{where} recreates an earlier position (positional superko)"

    def is_legal(self, action: int) -> bool:
        """Whether `play(action)` would succeed, without building the position: an action
        is read as `play` reads it (`operator.index`: numpy integers and bools are ints)."""
        geometry = self._geometry
        if self._passes >= 2:
            return False
        if action.__class__ is not int:
            try:
                action = operator.index(action)
            except TypeError:
                return False  # not an integer: play raises IllegalMove for it
        if action == geometry.pass_action:
            return True
        if not 0 <= action < geometry.area:
            return False
        if self._board[action] != EMPTY:
            return False
        _, _, _, suicide, board_hash = self._consequences(action)
        if suicide and not self._suicide_allowed:
            return False
        return not self._seen(board_hash)

    def legal_actions(self) -> list[int]:
        """Every legal point, then the pass; empty once the game is over.

        Most points need no `_consequences`: a play can capture, or take its own group's last
        liberty, only at the last liberty of a group in atari. Anywhere else it captures nothing,
        so it is legal unless it recreates an earlier board, and its stone lives unless all its
        neighbours are opposing stones (then it is suicide of one stone, which recreates this
        very board). Such a play leaves one stone more on the board than now, so it can recreate
        an earlier board only if some earlier board had more stones than this one: until the
        game's first capture, no point needs the superko test."""
        if self._passes >= 2:
            return []
        board, groups = self._board, self._groups
        neighbours, opponent = self._geometry.neighbours, -self._to_play
        zobrist, board_hash = self._geometry.zobrist[self._to_play], self._board_hash
        in_atari = {next(iter(g.liberties)) for g in groups.values() if len(g.liberties) == 1}
        may_repeat = self._most_stones > self._geometry.area - board.count(EMPTY)
        actions = []
        for point in range(self._geometry.area):
            if board[point] != EMPTY:
                continue
            if point in in_atari:
                if self.is_legal(point):
                    actions.append(point)
                continue
            for neighbour in neighbours[point]:
                if board[neighbour] != opponent:
                    break
            else:
                continue  # suicide of one stone
            if not may_repeat or not self._seen(board_hash ^ zobrist[point]):
                actions.append(point)
        actions.append(self._geometry.pass_action)
        return actions

    def superko_refusals(self) -> list[int]:
        """The board hashes of the plays that positional superko alone forbids here: each is a
        board of the game's history that the play would recreate. An exact solver needs them,
        since they are how the history changes what may be played (see `straw.solver`)."""
        if self._passes >= 2:
            return []
        board, suicide_allowed = self._board, self._suicide_allowed
        refused = []
        for point in range(self._geometry.area):
            if board[point] == EMPTY:
                _, _, _, suicide, board_hash = self._consequences(point)
                if (suicide_allowed or not suicide) and self._seen(board_hash):
                    refused.append(board_hash)
        return refused

    def is_terminal(self) -> bool:
        """The game ends after two passes in a row (Tromp-Taylor 8)."""
        return self._passes >= 2

    def ownership(self) -> tuple[int, ...]:
        """Who owns each point under Tromp-Taylor 9-10: +1 Black, -1 White, 0 nobody.

        A point belongs to a colour if it holds a stone of that colour, or if it is empty and
        every path of empty points from it reaches stones of that colour only. Empty regions
        that reach both colours (the shared liberties of a seki, dame) belong to nobody.
        """
        board, neighbours = self._board, self._geometry.neighbours
        owner = list(board)
        seen = set()
        for start in range(self._geometry.area):
            if board[start] != EMPTY or start in seen:
                continue
            region, reached, frontier = {start}, set(), [start]
            while frontier:
                for neighbour in neighbours[frontier.pop()]:
                    if board[neighbour] != EMPTY:
                        reached.add(board[neighbour])
                    elif neighbour not in region:
                        region.add(neighbour)
                        frontier.append(neighbour)
            seen |= region
            if len(reached) == 1:
                colour = reached.pop()
                for point in region:
                    owner[point] = colour
        return tuple(owner)

    def tromp_taylor_score(self) -> int:
        """Black's area minus White's, without komi (Tromp-Taylor 9-10): the sum of `ownership`."""
        return sum(self.ownership())

    def score(self) -> float:
        """Black's area minus White's minus komi: positive means Black is ahead."""
        return self.tromp_taylor_score() - self._komi

    def outcome(self) -> float:
        """+1 if Black won, -1 if White won, 0 for a draw (possible with integer komi)."""
        if not self.is_terminal():
            raise ValueError("the game is not over (it ends after two passes): no outcome yet")
        score = self.score()
        return float((score > 0) - (score < 0))

    def utility(self, score_weight: float = 0.0) -> float:
        """The finished game's value for Black when the margin counts too (`utility`)."""
        return utility(self.score(), self.size, score_weight)

    def result(self) -> str:
        """The score as players write it: 'B+3.5', 'W+0.5' or 'Draw'."""
        return format_result(self.score(), draw="Draw")

    def is_own_eye(self, point: int) -> bool:
        """Whether the empty `point` is a single-point eye of the player to move.

        Every neighbour must be one of her stones, and at most one diagonal an opposing stone
        (none on the edge), or the eye may be false. Random rollouts never fill such a point.
        """
        board, color = self._board, self._to_play
        if board[point] != EMPTY:
            return False
        for neighbour in self._geometry.neighbours[point]:
            if board[neighbour] != color:
                return False
        diagonals = self._geometry.diagonals[point]
        opposing = sum(1 for d in diagonals if board[d] == -color)
        return opposing == 0 or (opposing == 1 and len(diagonals) == 4)

    # --- What a position is -----------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._geometry.size

    @property
    def num_actions(self) -> int:
        """size * size points and the pass."""
        return self._geometry.area + 1

    @property
    def pass_action(self) -> int:
        return self._geometry.pass_action

    @property
    def to_play(self) -> int:
        """BLACK (+1) or WHITE (-1)."""
        return self._to_play

    @property
    def komi(self) -> float:
        return self._komi

    @property
    def suicide_allowed(self) -> bool:
        return self._suicide_allowed

    @property
    def passes(self) -> int:
        """How many passes in a row led to this position."""
        return self._passes

    @property
    def board_hash(self) -> int:
        """The Zobrist hash of the board alone: what positional superko compares."""
        return self._board_hash

    def history_hashes(self) -> frozenset[int]:
        """The board hashes of the game so far, this position's included."""
        return self._older_hashes.union(self._recent_hashes)

    @property
    def last_move(self) -> int | None:
        return self._last_move

    @property
    def board(self) -> tuple[int, ...]:
        """The colour of every point, row by row from the top: BLACK, WHITE or EMPTY."""
        return tuple(self._board)

    def group_at(self, point: int) -> Group | None:
        """The group of the stone at `point`, or None if the point is empty."""
        if self._board[point] == EMPTY:
            return None
        return self._groups[self._group_of[point]]

    def __eq__(self, other: object) -> bool:
        """Same board, player to move, passes and rules. The history is not compared, as
        transposition tables usually ignore it (superko may still tell two equal positions apart).
        """
        if not isinstance(other, Position):
            return NotImplemented
        return (
            self._board_hash == other._board_hash
            and self._to_play == other._to_play
            and self._passes == other._passes
            and self._geometry is other._geometry
            and self._komi == other._komi
            and self._suicide_allowed == other._suicide_allowed
            and self._board == other._board
        )

    def __hash__(self) -> int:
        return self._board_hash ^ self._geometry.state_keys[self._to_play, self._passes]

    # --- Showing a position -----------------------------------------------------------------

    def __str__(self) -> str:
        size = self.size
        letters = "   " + " ".join(COLUMNS[:size])
        marks = MARKS
        lines = [letters]
        for row in range(size):
            number = size - row
            points = " ".join(marks[self._board[row * size + col]] for col in range(size))
            lines.append(f"{number:>2} {points} {number}")
        lines.append(letters)
        if self.is_terminal():
            lines.append(f"Game over: {self.result()} (komi {self._komi:g})")
        else:
            player = NAMES[self._to_play]
            lines.append(f"{player} ({marks[self._to_play]}) to play, komi {self._komi:g}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        size = self.size
        marks = MARKS
        rows = [
            "".join(marks[self._board[row * size + col]] for col in range(size))
            for row in range(size)
        ]
        diagram = "\n".join(rows)
        to_play = "BLACK" if self._to_play == BLACK else "WHITE"
        rules = "" if self._suicide_allowed else ", suicide_allowed=False"
        return (
            f"Position.from_diagram('''\n{diagram}\n''', to_play={to_play}, "
            f"komi={self._komi!r}{rules})"
        )

    def svg(self, cell: int = 32, star_points: bool = True, owners=None) -> str:
        """The board as an SVG diagram: wooden board, grid, stones and coordinates.

        `cell` is the distance between lines in pixels. The coordinates sit in the margin between
        the board's edge and the edge stones, clear of both: a 5x5 board is 204 pixels wide,
        three to a row of a book's text column. `owners`, one value in [-1, 1] per point (+1
        Black's, -1 White's), draws an ownership map over it, as KataGo shows one: a square on
        each point, black or white by its owner, its side growing with the certainty."""
        size = self.size
        radius = cell * 0.47  # a stone, nearly touching its neighbours
        font = cell * 0.4
        margin = round(radius + 1.8 * font)  # a two-digit label (about 1.1 font wide) and gaps
        label_at = (margin - radius) / 2  # the labels' centre line, between edge and stones
        width = 2 * margin + (size - 1) * cell

        def at(index: int) -> int:
            return margin + index * cell

        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{width}" '
            f'viewBox="0 0 {width} {width}" font-family="sans-serif" '
            f'font-size="{font:.1f}">',
            f'<rect width="{width}" height="{width}" fill="#dcb35c"/>',
        ]
        for i in range(size):
            parts.append(
                f'<line x1="{at(0)}" y1="{at(i)}" x2="{at(size - 1)}" y2="{at(i)}" stroke="#000"/>'
            )
            parts.append(
                f'<line x1="{at(i)}" y1="{at(0)}" x2="{at(i)}" y2="{at(size - 1)}" stroke="#000"/>'
            )
        if star_points:
            for point in _star_points(size):
                row, col = divmod(point, size)
                parts.append(f'<circle cx="{at(col)}" cy="{at(row)}" r="{cell * 0.1:.1f}"/>')
        for i in range(size):
            letter, number = COLUMNS[i], size - i
            for x, y, label in (
                (at(i), label_at, letter),
                (at(i), width - label_at, letter),
                (label_at, at(i), number),
                (width - label_at, at(i), number),
            ):
                parts.append(
                    f'<text x="{x:g}" y="{y:g}" text-anchor="middle" '
                    f'dominant-baseline="central">{label}</text>'
                )
        for point, color in enumerate(self._board):
            if color != EMPTY:
                row, col = divmod(point, size)
                fill = "#000" if color == BLACK else "#fff"
                parts.append(
                    f'<circle cx="{at(col)}" cy="{at(row)}" r="{radius:.1f}" '
                    f'fill="{fill}" stroke="#000"/>'
                )
        for point, owner in enumerate(owners if owners is not None else ()):
            row, col = divmod(point, size)
            side = cell * 0.6 * min(abs(float(owner)), 1.0)
            if side >= 1:
                fill = "#000" if owner > 0 else "#fff"
                parts.append(
                    f'<rect x="{at(col) - side / 2:.1f}" y="{at(row) - side / 2:.1f}" '
                    f'width="{side:.1f}" height="{side:.1f}" fill="{fill}" stroke="#888" '
                    'stroke-width="0.5"/>'
                )
        if self._last_move is not None and self._last_move != self.pass_action:
            row, col = divmod(self._last_move, size)
            ring = "#fff" if self._board[self._last_move] == BLACK else "#000"
            parts.append(
                f'<circle cx="{at(col)}" cy="{at(row)}" r="{cell * 0.22:.1f}" fill="none" '
                f'stroke="{ring}" stroke-width="2"/>'
            )
        parts.append("</svg>")
        return "\n".join(parts)

    def _repr_svg_(self) -> str:
        return self.svg()


# --- The rollout policy of Monte Carlo Go -------------------------------------------------------

BLIND_DRAWS = 8  # uniform draws over all points before falling back to a shuffled scan


def random_move(position: Position, rng) -> int:
    """A uniformly random legal play that does not fill one of the mover's own single-point eyes
    (`Position.is_own_eye`), or the pass when there is none: the usual rollout policy.

    To avoid listing every legal move, points are drawn uniformly and the unacceptable ones
    (occupied, own eye, illegal) rejected; after a few rejections every empty point is tried in a
    shuffled order instead. Both stages pick uniformly among the acceptable plays. `rng` is a
    `random.Random` or a numpy `Generator` (anything with `random()` and `shuffle(list)`).
    """
    board = position.board
    area = len(board)
    for _ in range(BLIND_DRAWS):
        point = int(rng.random() * area)
        if board[point] == EMPTY and not position.is_own_eye(point) and position.is_legal(point):
            return point
    candidates = [point for point in range(area) if board[point] == EMPTY]
    rng.shuffle(candidates)
    for point in candidates:
        if not position.is_own_eye(point) and position.is_legal(point):
            return point
    return position.pass_action


def utility(score: float, size: int, score_weight: float) -> float:
    """What a game that ended `score` (Black's, komi taken) is worth to Black, from -1 to +1:
    (1 - w) * sign(score) + w * score / area, the margin clipped to the board's area. With w = 0
    it is the outcome; with w > 0 a bigger win is worth more, so a player ahead does not end the
    game by passing while it can still take more (on 5x5 at komi 0 the solved result, B+25, is
    worth 1 and B+1 only 0.52 at w = 1/2)."""
    result = float((score > 0) - (score < 0))
    margin = min(max(score / (size * size), -1.0), 1.0)
    return (1 - score_weight) * result + score_weight * margin


def random_game(
    size: int, rng, komi: float = 7.5, suicide_allowed: bool = True, max_moves: int | None = None
) -> tuple[list[int], Position]:
    """One game of `random_move` against itself from the empty board, to two passes or to
    `max_moves` (default `move_cap(size)`): its moves and its last position, a supply of
    finished games for checks and benchmarks."""
    position, moves = Position(size, komi, suicide_allowed), []
    cap = move_cap(size) if max_moves is None else max_moves
    while not position.is_terminal() and len(moves) < cap:
        action = random_move(position, rng)
        position = position.play(action)
        moves.append(action)
    return moves, position


# --- Games from their moves ---------------------------------------------------------------

MOVES_PER_POINT = 3  # a game that lasts 3 x the board's area is stopped and scored as it stands


def move_cap(size: int) -> int:
    """How many moves a game played to the end may take before it is stopped (no rule of Go
    ends it; random players may otherwise fill and capture for a very long time)."""
    return MOVES_PER_POINT * size * size


def play_moves(position: Position, moves) -> Position:
    """`position` after `moves`, each an action or a point as players write it ('C3', 'pass').
    An illegal move raises `IllegalMove` naming it: 'move 7 (White C3) is illegal: C3 is
    occupied'."""
    for number, move in enumerate(moves, start=1):
        action = parse_point(move, position.size) if isinstance(move, str) else move
        try:
            position = position.play(action)
        except IllegalMove as error:
            where = f"{NAMES[position.to_play]} {_describe(action, position.size)}"
            raise IllegalMove(f"move {number} ({where}) is illegal: {error}") from None
    return position


def replay(moves, size: int = 9, komi: float = 7.5, suicide_allowed: bool = True) -> Position:
    """The position `moves` (as `play_moves` takes them) lead to from the empty board."""
    return play_moves(Position(size, komi, suicide_allowed), moves)


def _describe(action, size: int) -> str:
    try:
        return format_point(action, size)
    except (TypeError, ValueError):
        return repr(action)


# --- Helpers --------------------------------------------------------------------------------


class _Geometry:
    """Tables that depend only on the board size, built once per size and shared."""

    def __init__(self, size: int):
        self.size = size
        self.area = size * size
        self.pass_action = size * size

        def points_around(point, steps):
            row, col = divmod(point, size)
            return tuple(
                (row + dr) * size + col + dc
                for dr, dc in steps
                if 0 <= row + dr < size and 0 <= col + dc < size
            )

        self.neighbours = tuple(
            points_around(p, ((-1, 0), (0, -1), (0, 1), (1, 0))) for p in range(self.area)
        )
        self.diagonals = tuple(
            points_around(p, ((-1, -1), (-1, 1), (1, -1), (1, 1))) for p in range(self.area)
        )
        # Zobrist keys: the hash of a board is the XOR of one random key per stone, so a play
        # updates it in O(stones changed). Seeded per size, so hashes are the same in every run.
        rng = random.Random(f"straw.go zobrist {size}")
        black = tuple(rng.getrandbits(64) for _ in range(self.area))
        white = tuple(rng.getrandbits(64) for _ in range(self.area))
        self.zobrist = (None, black, white)  # indexed by colour: [BLACK] = [1], [WHITE] = [-1]
        self.state_keys = {
            (player, passes): rng.getrandbits(64)
            for player in (BLACK, WHITE)
            for passes in range(3)
        }


@cache
def _geometry(size: int) -> _Geometry:
    return _Geometry(size)


def _remove_group(group_id, board, group_of, groups, neighbours) -> None:
    """Take a group off the board; its points become liberties of the groups around it."""
    stones = groups.pop(group_id).stones
    for stone in stones:
        board[stone] = EMPTY
    freed = {}  # id of a neighbouring (so opposing) group -> its new liberties
    for stone in stones:
        for neighbour in neighbours[stone]:
            if board[neighbour] != EMPTY:
                freed.setdefault(group_of[neighbour], []).append(stone)
    for neighbour_id, new_liberties in freed.items():
        group = groups[neighbour_id]
        liberties = group.liberties.union(new_liberties)
        groups[neighbour_id] = Group(group.color, group.stones, liberties)


def _groups_by_flood_fill(board, neighbours):
    """Groups of a whole board from scratch: used only to set up a position."""
    group_of = [-1] * len(board)
    groups = {}
    for start, color in enumerate(board):
        if color == EMPTY or group_of[start] != -1:
            continue
        group_of[start] = start
        stones, liberties, frontier = [start], set(), [start]
        while frontier:
            for neighbour in neighbours[frontier.pop()]:
                if board[neighbour] == EMPTY:
                    liberties.add(neighbour)
                elif board[neighbour] == color and group_of[neighbour] == -1:
                    group_of[neighbour] = start
                    stones.append(neighbour)
                    frontier.append(neighbour)
        groups[start] = Group(color, tuple(stones), frozenset(liberties))
    return group_of, groups


def _as_int(action) -> int:
    try:
        return operator.index(action)  # numpy integers are welcome
    except TypeError:
        raise IllegalMove(
            f"an action is an int, got {action!r} (parse 'C3' with parse_point)"
        ) from None


def _star_points(size: int) -> list[int]:
    """The marked points of the usual boards: 3-3 points on 9x9, 4-4 points on 13x13 and 19x19."""
    if size not in (9, 13, 19):
        return []
    edge = 2 if size == 9 else 3
    lines = [edge, size // 2, size - 1 - edge] if size == 19 else [edge, size - 1 - edge]
    points = [row * size + col for row in lines for col in lines]
    if size != 19:
        points.append((size // 2) * size + size // 2)
    return sorted(points)
