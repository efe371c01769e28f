"""How Go is written down: points as players and GTP write them, results, board characters.

The one home of every conversion between an action (`straw.go` numbers points `row * size + col`
from the top left, and `size * size` is the pass) and the text players, GTP engines and SGF
readers see (as minigo's `coords.py`). Nothing else parses a vertex.

    parse_point('C3', 5) -> 12      format_point(12, 5) -> 'C3'     (column letters skip I)
    format_result(3.5) -> 'B+3.5'   format_result(-0.5) -> 'W+0.5'  format_result(0) -> '0'
    MARKS[+1], MARKS[-1], MARKS[0]  'X', 'O', '.': the first player, the second, empty
    COLOR_LETTERS[+1], [-1]         'b', 'w': Black and White in GTP commands and SGF

This module knows no rules, so every module of the rules layer may use it.
"""

from __future__ import annotations

import re

COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP letters: I is skipped, so it is never confused with J
MARKS = {1: "X", -1: "O", 0: "."}  # Black (or X, who moves first), White (or O), empty
COLOR_LETTERS = {1: "b", -1: "w"}  # Black and White as GTP and SGF (sgfmill) name them
_POINT = re.compile(r"([A-Za-z])([0-9]{1,9})")  # ASCII digits only: int() takes '٣', GTP does not


class PointError(ValueError):
    """Text that is not a point of this board. `off_board` tells a well-written point that is
    not on the board ('K1' on 9x9, which GTP calls an illegal move) from text that is not a
    point at all ('C', 'I5', which GTP calls a syntax error)."""

    def __init__(self, message: str, off_board: bool = False):
        super().__init__(message)
        self.off_board = off_board


def parse_point(text: str, size: int) -> int:
    """The action for a point written as players and GTP write it: 'C3' (column letter, any
    case, no I; row 1 at the bottom), or 'pass'. Raises `PointError` saying what is wrong."""
    if text.lower() == "pass":
        return size * size
    match = _POINT.fullmatch(text)
    if match is None:
        raise PointError(f"{text!r} is not a point: write a column letter and a row (C3), or pass")
    letter, number = match[1].upper(), int(match[2])
    if letter == "I":
        raise PointError(f"{text!r} is not a point: Go columns skip the letter I (H, then J)")
    col = COLUMNS.find(letter)
    if not (0 <= col < size and 1 <= number <= size):
        last = f"{COLUMNS[size - 1]}{size}"
        raise PointError(f"{text} is off the {size}x{size} board (A1 to {last})", off_board=True)
    return (size - number) * size + col


def format_point(action: int, size: int) -> str:
    """'C3' for a point, 'pass' for the pass: the inverse of `parse_point`."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise ValueError(f"action {action} is not a point of a {size}x{size} board, nor pass")
    row, col = divmod(action, size)
    return f"{COLUMNS[col]}{size - row}"


def format_result(score: float, draw: str = "0") -> str:
    """A score from Black's view (area difference minus komi) as players write the result:
    'B+3.5', 'W+0.5', and `draw` for 0 ('0' in GTP's final_score and SGF; 'Draw' in words)."""
    if score == 0:
        return draw
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"
