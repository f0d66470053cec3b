# One place for every command humans and CI run. Each target creates the
# virtual environment and installs the pinned dependencies on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The modules setup.py compiles with Cython (when it can), and their declarations.
COMPILED_SOURCES := $(wildcard squall/http/protocol.py squall/http/cycle.py \
	squall/http/request.py squall/web/application.py squall/http/*.pxd squall/web/*.pxd)
BUILT  := $(VENV)/.compiled-stamp

.PHONY: install run hello test check bench clean

$(STAMP): pyproject.toml constraints.txt setup.py
	$(PYTHON) -c 'import sys; sys.exit("squall needs Python 3.11+, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt setuptools
	SQUALL_PURE_PYTHON=1 $(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# The compiled modules, built in place (setup.py); rebuilt when a source
# changes (a stale binary would be ignored anyway: squall/_compiled.py loads
# the newer source instead). Without a C compiler the .py files run.
$(BUILT): $(STAMP) $(COMPILED_SOURCES)
	$(BIN)/python setup.py --quiet build_ext --inplace 2>&1 | grep -E "^squall:|rror" || true
	touch $(BUILT)

install: $(BUILT)

run: install  ## the main job: the places API on SQLite, http://127.0.0.1:8888/place
	$(BIN)/python examples/places/app.py $(ARGS)

hello: install
	$(BIN)/python examples/hello.py

test: install  ## the whole test suite, with the compiled modules and then without
	@$(BIN)/python -c 'import squall; print("squall compiled modules:", ", ".join(sorted(squall.COMPILED)) or "none")'
	$(BIN)/python -m pytest $(ARGS)
	SQUALL_PURE_PYTHON=1 $(BIN)/python -m pytest -q $(ARGS)

check: install  ## lint and type-check
	$(BIN)/ruff check squall tests examples bench setup.py
	$(BIN)/mypy squall

bench: install  ## benchmarks against the peers (not tests)
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
	rm -f squall/http/*.c squall/http/*.so squall/web/*.c squall/web/*.so
