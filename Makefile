# Through a Straw: build the book and run every test.
#
#   make book   set up .venv, execute every chapter, render the HTML into _build/html
#   make test   set up .venv, then ruff, the unit tests, every notebook under strict nbval,
#               and the book built with warnings as errors (rendering the outputs nbval checked)
#   make lab    open JupyterLab on the chapters
#
# The first target that needs it creates .venv from requirements.txt (pinned) and installs the
# package `straw` from src/ in editable mode; later runs reuse it until requirements change.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
export GNUGO CHROMIUM

.PHONY: book test lab setup gnugo chromium lint unit notebooks html browser clean

book: setup
	$(BIN)/jupyter-book build . --keep-going
	@echo "The book is in _build/html/index.html"

test: setup lint unit notebooks html browser

lab: setup
	$(BIN)/jupyter lab chapters

setup: $(STAMP) gnugo

# GNU Go is the independent referee of Part II (rules cross-checks, matches). Found through
# $GNUGO, then PATH, then Debian's /usr/games/gnugo; installed with apt-get where we may.
gnugo:
	@if [ -n "$$GNUGO" ] && [ -x "$$GNUGO" ]; then :; \
	elif command -v gnugo >/dev/null 2>&1 || [ -x /usr/games/gnugo ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing GNU Go: apt-get install gnugo"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnugo >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  echo "Installing GNU Go: sudo apt-get install gnugo"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnugo >/dev/null; \
	else \
	  echo "error: GNU Go 3.8 is needed (Part II checks the rules and plays matches against it)."; \
	  echo "       Install it (Debian/Ubuntu: apt-get install gnugo; macOS: brew install gnu-go)"; \
	  echo "       and put it on PATH, or run: make GNUGO=/path/to/gnugo $(MAKECMDGOALS)"; \
	  exit 1; \
	fi

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null || \
	  { echo "error: the book needs Python 3.11 or newer as '$(PYTHON)'; install it, or run"; \
	    echo "       make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: setup
	$(BIN)/pytest tests

# Strict nbval: every stored output is compared; tests/nbval_sanitize.cfg masks what may vary.
# --dist loadfile keeps a notebook's cells on one worker.
notebooks: setup
	$(BIN)/pytest -p no:cacheprovider --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg -n $(JOBS) --dist loadfile chapters

# The notebooks were executed by nbval just before: render their stored outputs, do not run
# them again. The config differs from _config.yml in that one setting only.
html: setup
	@mkdir -p _build
	sed 's/^  execute_notebooks: .*/  execute_notebooks: "off"/' _config.yml > _build/_config.render.yml
	$(BIN)/jupyter-book build . --config _build/_config.render.yml -W -n --keep-going

# The built book as a reader meets it, in headless Chromium: every page of the table of contents
# (console errors, links and anchors, images, math, cell outputs, launch buttons), the search
# page, and screenshots in _build/screenshots. See tests/browser/test_book.py.
browser: html chromium
	$(BIN)/pytest tests/browser

# Chromium, for the browser test only: Debian's package, driven by Playwright (no browser is
# downloaded). Found through $CHROMIUM, then PATH; installed with apt-get where we may.
chromium:
	@if [ -n "$$CHROMIUM" ] && [ -x "$$CHROMIUM" ]; then :; \
	elif command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Chromium: apt-get install chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  echo "Installing Chromium: sudo apt-get install chromium"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "error: Chromium is needed for the browser test of the rendered book."; \
	  echo "       Install it (Debian/Ubuntu: apt-get install chromium; macOS: brew install --cask chromium)"; \
	  echo "       and put it on PATH, or run: make CHROMIUM=/path/to/chromium $(MAKECMDGOALS)"; \
	  exit 1; \
	fi

clean:
	rm -rf _build
