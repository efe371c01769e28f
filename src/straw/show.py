"""Show package source, board diagrams and printed numbers inside a chapter.

Chapters explain the code of `straw` by displaying it, never by re-implementing it. `source(obj)`
returns a displayable object: highlighted HTML (inline styles, so it needs no stylesheet and looks
the same in Jupyter and in the rendered book) and the plain source as its text form, which is what
a terminal and nbval see. `side_by_side` lays out several diagrams (anything with an `svg()`
method, such as a Go position) in a row with captions, the same way. `rounded` prepares a float
for printing so that the text does not depend on the CPU that computed it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer


@dataclass(frozen=True)
class Source:
    """Source code with the place it comes from, e.g. `straw/estimators.py: reward_to_go`."""

    code: str
    where: str

    def __repr__(self) -> str:
        return f"# {self.where}\n{self.code}"

    def _repr_html_(self) -> str:
        formatter = HtmlFormatter(noclasses=True, style="friendly", nobackground=False)
        body = highlight(self.code, PythonLexer(), formatter)
        caption = (
            '<div style="font-size:0.8em;color:#666;margin-bottom:2px">'
            f"<code>{self.where}</code></div>"
        )
        return f'<div class="straw-source">{caption}{body}</div>'


def source(obj) -> Source:
    """The source of a function, class or module of the package, ready to display.

    The caption names the file and the object (`straw/mcts.py: PUCT`), not line numbers, so a
    chapter's output changes only when the code it shows does.
    """
    code = inspect.getsource(obj)
    path = Path(inspect.getsourcefile(obj))
    # Name the file from the package root (straw/...), not from wherever it is installed.
    parts = path.parts
    where = "/".join(parts[len(parts) - 1 - parts[::-1].index("straw") :])
    if not inspect.ismodule(obj):
        where = f"{where}: {obj.__qualname__}"
    return Source(code.rstrip("\n"), where)


@dataclass(frozen=True)
class Row:
    """Diagrams in a row, each with a caption; text form: each caption and its diagram's text."""

    items: tuple[tuple[str, object], ...]

    def __repr__(self) -> str:
        return "\n\n".join(f"{caption}\n{item}" for caption, item in self.items)

    def _repr_html_(self) -> str:
        cells = "".join(
            '<figure style="display:inline-block;margin:0 1.2em 0.6em 0;text-align:center">'
            f'{item.svg()}<figcaption style="font-size:0.85em">{escape(caption)}</figcaption>'
            "</figure>"
            for caption, item in self.items
        )
        return f'<div class="straw-row">{cells}</div>'


@dataclass(frozen=True)
class Ownership:
    """A board with an ownership map drawn over it (`Position.svg(owners=...)`): one value in
    [-1, 1] per point, +1 Black's, -1 White's. Text form: the map alone, B or W where a side
    owns the point by more than 1/2, b or w by more than 0, . for nobody."""

    position: object
    owners: tuple[float, ...]

    def svg(self) -> str:
        return self.position.svg(owners=self.owners)

    def __str__(self) -> str:
        size = self.position.size
        marks = [
            "B" if v > 0.5 else "b" if v > 0 else "W" if v < -0.5 else "w" if v < 0 else "."
            for v in self.owners
        ]
        return "\n".join(" ".join(marks[r * size : (r + 1) * size]) for r in range(size))

    def _repr_html_(self) -> str:
        return self.svg()


def side_by_side(*items: tuple[str, object]) -> Row:
    """Show `(caption, diagram)` pairs in a row; a diagram is anything with an `svg()` method."""
    return Row(tuple(items))


def rounded(value, digits: int):
    """`value` (a float or an array) rounded to `digits` decimals, with no signed zero.

    Another CPU's float kernels may leave a value near zero on the other side of it: -1e-17 here,
    +1e-17 there. Both print as 0.00 after this, where formatting them alone prints -0.00 on one
    machine and 0.00 on the other, and a stored output compared as text fails on one of them."""
    return np.round(value, digits) + 0.0  # -0.0 + 0.0 is +0.0
