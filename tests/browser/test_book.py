"""The rendered book as a reader meets it: every page of the table of contents, in a real browser.

Run after the HTML is built (`make browser` does both; `make test` runs it last):

    .venv/bin/pytest tests/browser

The browser is headless Chromium from the system (Debian's `chromium` package, or the program
named by $CHROMIUM), driven by Playwright; no browser is downloaded. The built book in
_build/html is served on loopback, and every request for anything else is refused, so a page
that needs the network to render fails here just as it would for a reader offline.

The pages come from _toc.yml, so a chapter added there is checked without editing this file.
Each page is opened once, in a 1280 x 900 window; the tests below read what that visit saw.
Screenshots of the home page and of the first chapter (its top, and its first displayed
equation) are left in _build/screenshots/ for review. One more test redraws the home page's
figure from the package and compares it with the committed SVG.
"""

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
SEARCH_WORD = "PUCT"
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class TocPage:
    """One entry of _toc.yml: its Sphinx document name and its source file."""

    docname: str
    source: Path

    @property
    def html(self) -> str:
        return f"{self.docname}.html"

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"


def toc_pages() -> list[TocPage]:
    """Every page of the table of contents, in reading order (root, parts, chapters, sections)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                names.append(entry["file"])
            if "glob" in entry:  # Sphinx's order for a glob: sorted document names
                found = {path.with_suffix("") for path in ROOT.glob(entry["glob"] + ".*")}
                names.extend(sorted(path.relative_to(ROOT).as_posix() for path in found))
            walk(entry.get("sections", []))

    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        walk(part.get("chapters", []))
    pages = []
    for name in names:
        name = re.sub(r"\.(md|ipynb)$", "", name)
        sources = [ROOT / f"{name}{suffix}" for suffix in (".ipynb", ".md")]
        found = [path for path in sources if path.exists()]
        assert found, f"_toc.yml lists {name}, but neither {name}.ipynb nor {name}.md exists"
        pages.append(TocPage(name, found[0]))
    return pages


PAGES = toc_pages()
NOTEBOOKS = [page for page in PAGES if page.is_notebook]


def page_ids(pages: list[TocPage]) -> list[str]:
    return [page.docname for page in pages]


# -- Serving the book and opening pages --------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from the built book without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def base_url():
    """The built book over HTTP on loopback (search and MathJax need http://, not file://)."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built book in {HTML.relative_to(ROOT)}: run `make html` first")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def find_chromium() -> str:
    """The system Chromium: $CHROMIUM, else `chromium` or `chromium-browser` on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        if not (Path(named).is_file() and os.access(named, os.X_OK)):
            pytest.fail(f"CHROMIUM={named} is not an executable file")
        return named
    for program in ("chromium", "chromium-browser"):
        found = shutil.which(program)
        if found:
            return found
    pytest.fail(
        "Chromium is needed for the browser test and was not found. Install it "
        "(Debian/Ubuntu: apt-get install chromium; `make browser` does this where it may), "
        "or point CHROMIUM=/path/to/chromium at it."
    )


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=find_chromium())
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """What one page showed the browser."""

    console_errors: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def open_page(browser: Browser, base_url: str, path: str, visit: Visit) -> Page:
    """A new page at `path`, recording console errors, failed loads and requests off loopback."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)

    def only_loopback(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            visit.outside_requests.append(route.request.url)
            route.abort()

    def on_console(message):
        if message.type == "error":
            visit.console_errors.append(message.text)

    def on_response(response):
        if response.status >= 400:
            visit.bad_responses.append(f"{response.status} {response.url}")

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.console_errors.append(f"uncaught: {error}"))
    page.on("response", on_response)
    page.goto(base_url + path, wait_until="load")
    return page


# What a page shows once loaded and typeset. Lazy images are made eager and decoded, so an
# image below the fold counts too; decode() rejects for an image that cannot be shown.
FACTS_JS = """
async () => {
  const mathElements = [...document.querySelectorAll('div.math, span.math')];
  if (mathElements.length > 0) {
    const deadline = Date.now() + 20000;
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      if (Date.now() > deadline) break;
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
    }
  }
  const images = await Promise.all([...document.images].map(async img => {
    img.loading = 'eager';
    const alt = img.getAttribute('alt') || '';
    try { await img.decode(); return {src: img.src, alt: alt, ok: true}; }
    catch (e) { return {src: img.src, alt: alt, ok: false}; }
  }));
  const article = document.querySelector('article') || document.body;
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, mjx-container, script').forEach(el => el.remove());
  const outputs = [...document.querySelectorAll('div.cell div.cell_output')];
  // An output wider than the text column: it, or a <pre> in it, scrolls sideways or sticks out.
  const column = article.getBoundingClientRect().right + 1;
  const overflows = el => el.scrollWidth > el.clientWidth + 1
    || el.getBoundingClientRect().right > column;
  return {
    math: mathElements.length,
    displayMath: document.querySelectorAll('div.math').length,
    unrenderedMath: mathElements
      .filter(el => !el.querySelector('mjx-container'))
      .map(el => el.textContent.trim().slice(0, 80)),
    mathErrors: [...document.querySelectorAll('mjx-merror')]
      .map(el => (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 80)),
    rawDisplayMath: prose.textContent.includes('$$'),
    rawTex: (prose.textContent.match(/\\\\(begin|frac|displaystyle|mathbb)\\b/g) || []),
    images: images,
    cells: document.querySelectorAll('div.cell').length,
    outputs: outputs.length,
    emptyOutputs: outputs.filter(el => el.textContent.trim() === ''
      && !el.querySelector('img, svg, table, mjx-container')).length,
    wideOutputs: outputs
      .filter(el => overflows(el) || [...el.querySelectorAll('pre')].some(overflows))
      .map(el => el.textContent.trim().split('\\n')[0].slice(0, 80)),
    launch: [...document.querySelectorAll('.dropdown-launch-buttons a[href]')].map(a => a.href),
    links: [...new Set([...document.querySelectorAll('a[href]')].map(a => a.href))],
  };
}
"""


@pytest.fixture(scope="session")
def visits(browser, base_url) -> dict[str, Visit]:
    """Every TOC page opened once; the checks below look up what each visit recorded."""
    seen = {}
    for page_entry in PAGES:
        visit = Visit()
        page = open_page(browser, base_url, page_entry.html, visit)
        visit.facts = page.evaluate(FACTS_JS)
        page.context.close()
        seen[page_entry.docname] = visit
    return seen


# -- Every page of the table of contents ---------------------------------------------------------


@pytest.mark.parametrize("entry", PAGES, ids=page_ids(PAGES))
def test_page_loads_cleanly_and_offline(entry: TocPage, visits):
    """No console error, no failed load, and nothing fetched from outside the book."""
    visit = visits[entry.docname]
    problems = {
        "failed loads": visit.bad_responses,
        "requests off loopback (refused)": visit.outside_requests,
        "console errors": visit.console_errors,
    }
    assert not any(problems.values()), f"{entry.html}: {problems}"


@pytest.mark.parametrize("entry", PAGES, ids=page_ids(PAGES))
def test_every_image_loads(entry: TocPage, visits):
    images = visits[entry.docname].facts["images"]
    broken = [image["src"] for image in images if not image["ok"]]
    assert broken == [], f"{entry.html}: images that do not load: {broken}"


@pytest.mark.parametrize("entry", PAGES, ids=page_ids(PAGES))
def test_every_figure_says_what_it_shows(entry: TocPage, visits):
    """A cell's image output is saved under its hash, and without alt text in the cell's
    metadata (mystnb.image.alt) a screen reader reads that name out. Every one needs words."""
    images = visits[entry.docname].facts["images"]
    outputs = [image for image in images if re.search(r"/[0-9a-f]{64}\.png$", image["src"])]
    mute = [image["src"] for image in outputs if len(image["alt"].split()) < 5]
    assert mute == [], f"{entry.html}: figures without alt text: {mute}"


@pytest.mark.parametrize("entry", PAGES, ids=page_ids(PAGES))
def test_math_is_rendered(entry: TocPage, visits):
    """Every equation typeset by the local MathJax, none in error, no TeX left as text."""
    facts = visits[entry.docname].facts
    assert facts["unrenderedMath"] == [], f"{entry.html}: math not typeset"
    assert facts["mathErrors"] == [], f"{entry.html}: MathJax errors {facts['mathErrors']}"
    assert not facts["rawDisplayMath"], f"{entry.html}: '$$' shown as text"
    assert facts["rawTex"] == [], f"{entry.html}: TeX shown as text: {facts['rawTex']}"


def displayed_outputs(notebook: Path) -> int:
    """Code cells of a notebook whose stored outputs the book should show."""
    cells = json.loads(notebook.read_text())["cells"]
    hidden = {"remove-output", "remove-cell"}
    return sum(
        1
        for cell in cells
        if cell["cell_type"] == "code"
        and cell.get("outputs")
        and not hidden & set(cell.get("metadata", {}).get("tags", []))
    )


@pytest.mark.parametrize("entry", NOTEBOOKS, ids=page_ids(NOTEBOOKS))
def test_code_cells_show_their_outputs(entry: TocPage, visits):
    facts = visits[entry.docname].facts
    expected = displayed_outputs(entry.source)
    assert expected > 0, f"{entry.source.name} is stored without outputs"
    assert facts["outputs"] == expected, (
        f"{entry.html} shows {facts['outputs']} cell outputs; the notebook stores {expected}"
    )
    assert facts["emptyOutputs"] == 0, f"{entry.html}: {facts['emptyOutputs']} empty outputs"


@pytest.mark.parametrize("entry", PAGES, ids=page_ids(PAGES))
def test_no_output_is_wider_than_the_text_column(entry: TocPage, visits):
    """At a 1280 px window (open_page's), every cell output fits the text column: a long line
    wraps (book/_static/straw.css) instead of hiding behind a sideways scroll bar. Code cells
    may scroll; their lines are not wrapped."""
    wide = visits[entry.docname].facts["wideOutputs"]
    assert wide == [], f"{entry.html}: {len(wide)} outputs wider than the text column: {wide}"


def expected_launch_links(entry: TocPage) -> set[str]:
    """Binder and Colab links for a notebook, built from _config.yml as a reader would expect."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    owner_name = urllib.parse.urlparse(repo["url"]).path.strip("/")
    branch = repo.get("branch", "main")
    notebook = entry.source.relative_to(ROOT).as_posix()
    launch = config["launch_buttons"]
    interface = "lab/tree" if launch.get("notebook_interface") == "jupyterlab" else "tree"
    binder = launch["binderhub_url"].rstrip("/")
    colab = launch["colab_url"].rstrip("/")
    return {
        f"{binder}/v2/gh/{owner_name}/{branch}?urlpath={interface}/{notebook}",
        f"{colab}/github/{owner_name}/blob/{branch}/{notebook}",
    }


@pytest.mark.parametrize("entry", NOTEBOOKS, ids=page_ids(NOTEBOOKS))
def test_launch_buttons_open_this_notebook(entry: TocPage, visits):
    launch = set(visits[entry.docname].facts["launch"])
    missing = expected_launch_links(entry) - launch
    assert not missing, f"{entry.html}: launch buttons {sorted(launch)} lack {sorted(missing)}"


# -- Links and anchors ---------------------------------------------------------------------------


@functools.cache
def fetch(url: str) -> tuple[int, frozenset[str]]:
    """HTTP status of a page of the served book, and the ids an anchor may point at."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            body = response.read()
            status = response.status
            is_html = "html" in response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, frozenset()
    if not is_html:
        return status, frozenset()
    text = body.decode("utf-8", errors="replace")
    return status, frozenset(re.findall(r"""\b(?:id|name)=["']([^"']+)["']""", text))


@pytest.mark.parametrize("entry", PAGES, ids=page_ids(PAGES))
def test_internal_links_and_anchors_resolve(entry: TocPage, visits, base_url):
    broken = []
    for link in visits[entry.docname].facts["links"]:
        if not link.startswith(base_url):
            continue
        target, _, anchor = link.partition("#")
        target = target.partition("?")[0]
        status, ids = fetch(target)
        if status != 200:
            broken.append(f"{link} ({status})")
        elif anchor and urllib.parse.unquote(anchor) not in ids:
            broken.append(f"{link} (no such anchor)")
    assert broken == [], f"{entry.html}: broken links {broken}"


def test_home_page_links_every_toc_page(visits, base_url):
    """A reader can reach every page of the table of contents from the home page."""
    home = visits[PAGES[0].docname].facts["links"]
    linked = {link.partition("#")[0] for link in home}
    unreachable = [entry.html for entry in PAGES[1:] if base_url + entry.html not in linked]
    assert unreachable == [], f"the home page has no link to {unreachable}"
    assert NOTEBOOKS, "_toc.yml lists no notebook chapter"


def test_home_page_figure_is_what_the_code_draws(tmp_path):
    """The committed figure of the home page, redrawn from the package, byte for byte."""
    script = ROOT / "book" / "figures" / "intro_figure.py"
    spec = importlib.util.spec_from_file_location("intro_figure", script)
    intro_figure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(intro_figure)
    intro_figure.draw(tmp_path / "intro_figure.svg")
    redrawn = (tmp_path / "intro_figure.svg").read_bytes()
    assert redrawn == script.with_suffix(".svg").read_bytes(), (
        "book/figures/intro_figure.svg is out of date: run .venv/bin/python "
        "book/figures/intro_figure.py and commit the SVG"
    )


# -- Search and screenshots ----------------------------------------------------------------------


def pages_mentioning(word: str) -> set[str]:
    """TOC pages whose prose (Markdown, not code) contains `word`: search must find them all."""
    found = set()
    for entry in PAGES:
        if entry.is_notebook:
            cells = json.loads(entry.source.read_text())["cells"]
            prose = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        else:
            prose = entry.source.read_text()
        if re.search(rf"\b{word}\b", prose):
            found.add(entry.docname)
    return found


def test_search_finds_puct(browser, base_url):
    expected = pages_mentioning(SEARCH_WORD)
    assert expected, f"no page of the book mentions {SEARCH_WORD}"
    visit = Visit()
    page = open_page(browser, base_url, f"search.html?q={SEARCH_WORD}", visit)
    page.wait_for_selector("#search-results p.search-summary")
    links = page.locator("#search-results ul.search li a")
    results = links.evaluate_all("links => links.map(a => a.href)")
    page.context.close()
    found = {urllib.parse.urlparse(url).path.lstrip("/").removesuffix(".html") for url in results}
    assert expected <= found, f"searching {SEARCH_WORD} finds {sorted(found)}, not {expected}"
    assert visit.console_errors == [] and visit.outside_requests == []


def test_screenshots_for_review(browser, base_url):
    """PNGs in _build/screenshots: the whole home page, the first chapter's first screen, and
    that chapter's first displayed equation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path, lands_on, shots in [
        ("index.html", PAGES[0].html, {"home.png": None}),
        (NOTEBOOKS[0].html, NOTEBOOKS[0].html, {"chapter.png": None, "equation.png": "div.math"}),
    ]:
        visit = Visit()
        page = open_page(browser, base_url, path, visit)
        page.wait_for_url(base_url + lands_on)  # index.html redirects to the first TOC page
        page.wait_for_load_state("load")
        page.evaluate(FACTS_JS)  # waits for MathJax, so the screenshots show typeset math
        for name, selector in shots.items():
            if selector is None:
                page.screenshot(path=SCREENSHOTS / name, full_page=name == "home.png")
            else:
                page.locator(selector).first.scroll_into_view_if_needed()
                page.evaluate("window.scrollBy(0, -window.innerHeight / 3)")
                page.screenshot(path=SCREENSHOTS / name)
            assert (SCREENSHOTS / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        page.context.close()
        assert visit.console_errors == [], f"{path}: console errors {visit.console_errors}"
