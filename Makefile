# One place for every command humans and CI run. Each target creates the
# virtual environment and installs the pinned dependencies on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run hello test check bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit("squall needs Python 3.11+, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install  ## the main job: the places API on SQLite, http://127.0.0.1:8888/place
	$(BIN)/python examples/places/app.py $(ARGS)

hello: install
	$(BIN)/python examples/hello.py

test: install  ## the whole test suite
	$(BIN)/python -m pytest $(ARGS)

check: install  ## lint and type-check
	$(BIN)/ruff check squall tests examples bench
	$(BIN)/mypy squall

bench: install  ## benchmarks against the peers (not tests)
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
