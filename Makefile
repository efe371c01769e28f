# Through a Straw: build the book and run every test.
#
#   make book   set up .venv, execute every chapter, render the HTML into _build/html
#   make test   set up .venv, then ruff, the unit tests, every notebook under strict nbval (twice:
#               this CPU's float kernels, then plain ones on one thread),
#               and the book built with warnings as errors (rendering the outputs nbval checked)
#   make lab    open JupyterLab on the chapters
#
# The first target that needs it creates .venv from requirements.txt (pinned) and the test-only
# tests/requirements.txt (TRL, the loss's reference), and installs the package `straw` from src/
# in editable mode; later runs reuse it until requirements change.

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

# Find a program, or install its Debian package where we may (as root, or with sudo that needs no
# password); otherwise stop and say how to install it. $(1): a shell test that it is there;
# $(2): the Debian package; $(3): what it is needed for; $(4): how to install it on macOS;
# $(5): the make variable that can point at it.
define require
	@if $(1); then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing $(2): apt-get install $(2)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; } || \
	  { echo "error: apt-get could not install $(2), which is needed: $(3)."; exit 1; }; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  echo "Installing $(2): sudo apt-get install $(2)"; \
	  { sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; } || \
	  { echo "error: apt-get could not install $(2), which is needed: $(3)."; exit 1; }; \
	else \
	  echo "error: $(2) is needed: $(3)."; \
	  echo "       Install it (Debian/Ubuntu: apt-get install $(2); macOS: $(4))"; \
	  echo "       and put it on PATH, or run: make $(5)=/path/to/$(2) $(MAKECMDGOALS)"; \
	  exit 1; \
	fi
endef

# GNU Go 3.8 is the independent referee of Part II (rules cross-checks, matches). Found through
# $GNUGO, then PATH, then Debian's /usr/games/gnugo.
gnugo:
	$(call require,{ [ -n "$$GNUGO" ] && [ -x "$$GNUGO" ]; } || command -v gnugo >/dev/null 2>&1 || [ -x /usr/games/gnugo ],gnugo,Part II checks the rules against GNU Go 3.8 and plays matches against it,brew install gnu-go,GNUGO)

$(STAMP): requirements.txt tests/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null || \
	  { echo "error: the book needs Python 3.11 or newer as '$(PYTHON)'; install it, or run"; \
	    echo "       make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: setup
	$(BIN)/pytest tests

# Strict nbval: every stored output is compared; tests/nbval_sanitize.cfg masks what may vary.
# --dist loadfile keeps a notebook's cells on one worker.
NBVAL = $(BIN)/pytest -p no:cacheprovider --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg -n $(JOBS) --dist loadfile chapters

# A reader's CPU is not ours: torch and numpy pick their float kernels by CPU (AVX-512, AVX2, or
# plain code) and sum in another order with another number of threads, which moves the last bits
# of a float. So every chapter runs twice, the second time on torch's and numpy's plain kernels
# and one thread, and both runs must match the same stored outputs: an output that passes here
# does not depend on the machine it was executed on.
PLAIN_KERNELS = ATEN_CPU_CAPABILITY=default NPY_DISABLE_CPU_FEATURES="$(NUMPY_SIMD)" \
	  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
NUMPY_SIMD = $(shell $(BIN)/python -c 'from numpy._core._multiarray_umath import \
	  __cpu_dispatch__ as d, __cpu_features__ as f; print(" ".join(x for x in d if f.get(x)))')

notebooks: setup
	$(NBVAL)
	$(PLAIN_KERNELS) $(NBVAL)

# The notebooks were executed by nbval just before: render their stored outputs, do not run
# them again. The config differs from _config.yml in that one setting only.
html: setup
	@mkdir -p _build
	sed 's/^  execute_notebooks: .*/  execute_notebooks: "off"/' _config.yml > _build/_config.render.yml
	$(BIN)/jupyter-book build . --config _build/_config.render.yml -W -n --keep-going

# The built book as a reader meets it, in headless Chromium: every page of the table of contents
# (console errors, links and anchors, images, math, cell outputs and their width, launch
# buttons), the search page, and screenshots in _build/screenshots. See tests/browser/test_book.py.
browser: html chromium
	$(BIN)/pytest tests/browser

# Chromium, for the browser test only: Debian's package, driven by Playwright (no browser is
# downloaded). Found through $CHROMIUM, then PATH.
chromium:
	$(call require,{ [ -n "$$CHROMIUM" ] && [ -x "$$CHROMIUM" ]; } || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1,chromium,the browser test of the rendered book opens every page in it,brew install --cask chromium,CHROMIUM)

clean:
	rm -rf _build
