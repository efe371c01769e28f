"""straw.show displays package source the same way in Jupyter, the HTML book and a terminal."""

import inspect

import numpy as np

from straw import estimators, go, show


def test_source_of_a_function_is_its_exact_text_with_its_place():
    shown = show.source(estimators.reward_to_go)
    assert shown.code == inspect.getsource(estimators.reward_to_go).rstrip("\n")
    assert shown.where == "straw/estimators.py: reward_to_go"
    assert repr(shown).splitlines()[0] == f"# {shown.where}"


def test_html_is_highlighted_inline_so_it_needs_no_stylesheet():
    html = show.source(estimators.reward_to_go)._repr_html_()
    assert 'style="' in html and "class=" not in html.replace('class="straw-source"', "").replace(
        'class="highlight"', ""
    )
    assert "reward_to_go" in html and "straw/estimators.py" in html


def test_source_of_a_class_and_of_a_module():
    assert show.source(estimators.Policy).code.startswith("@dataclass(frozen=True)\nclass Policy")
    module = show.source(show)
    assert module.where == "straw/show.py"
    assert module.code.startswith('"""Show package source')


def test_side_by_side_shows_each_diagram_with_its_caption():
    empty, centre = go.Position(5), go.Position(5).play(go.parse_point("C3", 5))
    row = show.side_by_side(("empty", empty), ("after C3 <centre>", centre))
    html = row._repr_html_()
    assert html.count("<svg") == 2 and html.count("<figcaption") == 2
    assert "after C3 &lt;centre&gt;" in html
    assert repr(row) == f"empty\n{empty}\n\nafter C3 <centre>\n{centre}"


def test_rounded_never_gives_a_signed_zero():
    from straw.show import rounded

    assert f"{rounded(-1e-17, 2):.2f}" == f"{rounded(1e-17, 2):.2f}" == "0.00"
    assert f"{rounded(-0.0, 3):+.3f}" == "+0.000" and f"{rounded(-0.004, 2):.2f}" == "0.00"
    assert f"{rounded(-0.006, 2):.2f}" == "-0.01" and rounded(2.345678, 3) == 2.346
    assert [f"{v:.1f}" for v in rounded(np.array([-0.01, 0.04, -1.26]), 1)] == [
        "0.0",
        "0.0",
        "-1.3",
    ]


def test_an_ownership_map_draws_a_square_per_owned_point_and_reads_as_text():
    position = go.Position(3, komi=0).play(4)  # one black stone: the whole board is Black's
    owners = (1.0, 0.7, 0.3, 0.0, 1.0, -0.2, -0.6, -1.0, 0.0)
    shown = show.Ownership(position, owners)
    assert str(shown) == "B B b\n. B w\nW W ."
    svg = shown.svg()
    assert svg.count("<rect") == 1 + 7  # the board, and a square on each point owned at all
    assert svg.count('fill="#000" stroke="#888"') == 4 and svg.count('fill="#fff" stroke') == 3
    assert show.Ownership(position, position.ownership()).svg().count("<rect") == 1 + 9
