"""Show the source of a package function inside a chapter.

Chapters explain the code of `straw` by displaying it, never by re-implementing it. `source(obj)`
returns a displayable object: highlighted HTML (inline styles, so it needs no stylesheet and looks
the same in Jupyter and in the rendered book) and the plain source as its text form, which is what
a terminal and nbval see.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer


@dataclass(frozen=True)
class Source:
    """Source code with the place it comes from, e.g. `straw/estimators.py, lines 10-20`."""

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
    """The source of a function, class or module of the package, ready to display."""
    lines, first = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj))
    # Name the file from the package root (straw/...), not from wherever it is installed.
    parts = path.parts
    where = "/".join(parts[len(parts) - 1 - parts[::-1].index("straw") :])
    if first == 0:  # a module: getsourcelines counts from 0
        first = 1
    span = f"lines {first}-{first + len(lines) - 1}"
    return Source("".join(lines).rstrip("\n"), f"{where}, {span}")
