"""The package's layers point one way, as the map in `straw/__init__.py` draws them.

Every `import` and `from ... import` of every module of src/straw is read (with ast, not by
importing), wherever it stands: at the top, inside a function (a lazy import is still a
dependency), and under `if TYPE_CHECKING:` (a type a module names is something its reader must
know, so it counts the same). A module may import from its own layer and the layers below.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "straw"

LAYERS = {  # lowest first
    "foundations": {"straw", "estimators", "show"},
    "rules": {"coords", "game", "tictactoe", "go", "sgf", "tokens"},
    "search": {"mcts", "gumbel", "solver"},
    "networks": {"nets", "transformer"},
    "training": {"selfplay", "outcome_rl", "train", "policy_gradients", "expert_iteration"},
    "evaluation": {"arena", "gtp_client"},
    "interfaces": {"gtp", "__main__"},
}
ORDER = list(LAYERS)
LAYER_OF = {module: layer for layer, modules in LAYERS.items() for module in modules}
FORBIDDEN = {  # (importing layer or module, imported layer): why not
    ("mcts", "rules"): "one search, many games: the search knows no game",
    ("gumbel", "rules"): "one search, many games: the search knows no game",
    ("networks", "search"): "networks know nothing of the search, which takes an evaluate()",
}


def module_name(path: Path) -> str:
    return "straw" if path.name == "__init__.py" else path.stem


def straw_imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, the import as written, the straw module it names) for every import of straw."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "straw" or alias.name.startswith("straw."):
                    target = alias.name.split(".")[1] if "." in alias.name else "straw"
                    found.append((node.lineno, f"import {alias.name}", target))
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.level == 0 and node.module == "straw":  # from straw import go, mcts
                for alias in node.names:
                    found.append((node.lineno, f"from straw import {alias.name}", alias.name))
            elif node.level == 0 and node.module.startswith("straw."):
                names = ", ".join(alias.name for alias in node.names)
                target = node.module.split(".")[1]
                found.append((node.lineno, f"from {node.module} import {names}", target))
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "a relative import", "?"))
    return sorted(found)


MODULES = sorted(PACKAGE.glob("*.py"))


def test_every_module_is_on_the_map():
    names = {module_name(path) for path in MODULES}
    assert names == set(LAYER_OF), "add the module to LAYERS and to the map in straw/__init__.py"
    docstring = (PACKAGE / "__init__.py").read_text()
    missing = [name for name in names - {"straw"} if f" {name} " not in docstring]
    assert not missing, f"the map in straw/__init__.py does not name {missing}"


def broken_rules(importer: str, target: str) -> list[str]:
    if target not in LAYER_OF:
        return [f"straw.{target} is on no layer"]
    own, theirs = LAYER_OF[importer], LAYER_OF[target]
    broken = []
    if ORDER.index(theirs) > ORDER.index(own):
        broken.append(f"layers point down: {importer} is {own}, {target} is {theirs}")
    for key in (importer, own):
        if (key, theirs) in FORBIDDEN:
            broken.append(FORBIDDEN[key, theirs])
    return broken


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_point_down(path):
    importer = module_name(path)
    wrong = [
        f"straw/{path.name}:{line}: {statement} ({rule})"
        for line, statement, target in straw_imports(path)
        for rule in broken_rules(importer, target)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_catches_a_wrong_way_import(tmp_path):
    """What this test would say of the import this clean-up removed: arena took `Player` from
    the GTP engine, which serves players and so stands above the matches."""
    assert broken_rules("arena", "gtp") == [
        "layers point down: arena is evaluation, gtp is interfaces"
    ]
    assert broken_rules("mcts", "go") == ["one search, many games: the search knows no game"]
    assert broken_rules("nets", "mcts") == [
        "networks know nothing of the search, which takes an evaluate()"
    ]
    path = tmp_path / "sample.py"
    path.write_text(
        "def f():\n    from straw.gtp import Player\nif TYPE_CHECKING:\n    import straw.nets\n"
    )
    assert [(line, target) for line, _, target in straw_imports(path)] == [(2, "gtp"), (4, "nets")]
