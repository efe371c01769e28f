"""The files that let a reader run the book elsewhere: Binder's configuration, the Colab setup
cell every chapter starts with, and the pinned requirements they install. Fast: nothing is
built or executed, the files are only read."""

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
SETUP_TAGS = {"remove-cell", "nbval-ignore-output"}


def requirement_lines(path: Path) -> list[str]:
    """The lines of a requirements file that pip reads, comments and blank lines dropped."""
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line]


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line, following `-r other.txt` as pip does."""
    found = {}
    for line in requirement_lines(path):
        if line.startswith(("-r ", "--requirement ")):
            found.update(pins(path.parent / line.split(maxsplit=1)[1]))
        elif "==" in line:
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_requirements_are_pins_only():
    """Every line is `name==version`; no note of a local editable install left by pip freeze."""
    text = (ROOT / "requirements.txt").read_text()
    assert "editable" not in text.lower() and "-e " not in text
    lines = requirement_lines(ROOT / "requirements.txt")
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^=\s]+", line) for line in lines)
    assert pins(ROOT / "requirements.txt")["torch"] == "2.13.0"


def test_binder_installs_every_pin():
    """repo2docker reads binder/ instead of the top level, so binder/requirements.txt must
    install the same pins (it includes the top-level file)."""
    assert pins(BINDER / "requirements.txt") == pins(ROOT / "requirements.txt")
    python = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(1[1-9])", python), "straw needs Python 3.11 or newer"


def test_binder_installs_the_cpu_build_of_torch():
    """PyPI's torch for Linux is the CUDA build; Binder's image takes PyTorch's CPU wheel."""
    options = [shlex.split(line) for line in requirement_lines(BINDER / "requirements.txt")]
    assert ["--extra-index-url", "https://download.pytorch.org/whl/cpu"] in options


def test_binder_installs_gnu_go_and_straw():
    assert "gnugo" in requirement_lines(BINDER / "apt.txt")
    post_build = BINDER / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    commands = [shlex.split(line) for line in requirement_lines(post_build)]
    installs = [words for words in commands if "pip" in words and "install" in words]
    assert any("-e" in words and words[-1] == "." for words in installs), installs


def setup_cells() -> dict[str, dict]:
    """The first code cell of every chapter."""
    cells = {}
    for path in CHAPTERS:
        notebook = json.loads(path.read_text())
        cells[path.name] = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    return cells


INSTALL_GNU_GO = (
    '    subprocess.run("apt-get -qq update && apt-get -qq install -y gnugo", shell=True, '
    "check=True)\n"
)


def plays_gnu_go(path: Path) -> bool:
    """Whether a chapter's code, its setup cell aside, plays GNU Go."""
    code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return any("gnugo" in "".join(cell["source"]).lower() for cell in code[1:])


def test_every_chapter_starts_with_the_same_setup_cell():
    """One setup cell, which installs GNU Go only in the chapters that play it."""
    cells = setup_cells()
    assert len(cells) == 15
    for name, cell in cells.items():
        assert SETUP_TAGS <= set(cell["metadata"].get("tags", [])), name
        assert cell["outputs"] == [] and cell["execution_count"] is not None, name
        assert (INSTALL_GNU_GO in cell["source"]) == plays_gnu_go(ROOT / "chapters" / name), name
    without_go = {
        "".join(line for line in cell["source"] if line != INSTALL_GNU_GO).replace(
            "install GNU Go and `straw`", "install `straw`"
        )
        for cell in cells.values()
    }
    assert len(without_go) == 1, "the setup cell differs between chapters"
    source = without_go.pop()
    assert 'if "google.colab" in sys.modules:' in source
    for step in ("git", "clone", "pip", "install", "chdir", "chapters"):
        assert step in source, f"the setup cell does not {step}"
    assert 0 < sum(map(plays_gnu_go, CHAPTERS)) < len(CHAPTERS)


@pytest.mark.parametrize("name", [path.name for path in CHAPTERS])
def test_setup_cell_does_nothing_outside_colab(name, capsys):
    namespace = {}
    exec("".join(setup_cells()[name]["source"]), namespace)
    assert capsys.readouterr() == ("", "")
    assert "REPOSITORY" not in namespace


def test_setup_cell_clones_the_configured_repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    source = "".join(next(iter(setup_cells().values()))["source"])
    cloned = re.findall(r'REPOSITORY = "([^"]+)"', source)
    assert cloned == [config["repository"]["url"]]
