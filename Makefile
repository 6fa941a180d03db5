# Two commands a newcomer needs: `make demo` and `make test`. Both create or update the
# virtual environment in .venv on first use (and whenever pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Nothing downloads at run time, nothing phones home.
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export FLWR_TELEMETRY_ENABLED := 0
export FLWR_DISABLE_UPDATE_CHECK := 1
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION := 1

PACKAGES := common server client proto simulations

.PHONY: demo test lint typecheck unit bench install clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-cache-dir -e '.[dev,sim]'
	touch $(STAMP)

install: $(STAMP)

# the whole story (simulations/demos/demo_story.py); each run starts from an empty demo-output/
demo: $(STAMP)
	rm -rf demo-output
	$(BIN)/tastevec-sim story --out demo-output

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow setuptools' editable finder for our package-dir mapping, so it checks
# a tree of links that mirrors the import names (build/typecheck/tastevec/<pkg> -> <pkg>).
typecheck: $(STAMP)
	rm -rf build/typecheck && mkdir -p build/typecheck/tastevec
	for p in $(PACKAGES); do ln -s ../../../$$p build/typecheck/tastevec/$$p; done
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p tastevec

unit: $(STAMP) browser
	$(BIN)/pytest

# The page's browser tests drive Debian's chromium through Playwright (whose own browser
# download is not used). Installed with apt-get when missing; under CI=true the browser tests
# fail rather than skip without it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "no chromium and no apt-get: the page's browser tests will skip (fail under CI=true)"; fi; }

bench: $(STAMP)
	$(BIN)/tastevec-sim bench core

clean:
	rm -rf build demo-output .pytest_cache .mypy_cache .ruff_cache
