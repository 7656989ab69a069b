PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install lint typecheck test test-fast bench bench-data clean config-doc init

# Tests write bytecode caches (git- and docker-ignored) even where the environment says not to:
# without them every run recompiles the sources and every `callsift` subprocess does it again
# (about 5 s of CPU per fast loop, README "Tests").
unexport PYTHONDONTWRITEBYTECODE

# A missing, dangling (stale symlink) or broken venv is recreated from scratch.
$(BIN)/python:
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

lint: install
	$(BIN)/ruff check sniffer db api gui tests bench
	$(BIN)/ruff format --check sniffer db api gui tests bench

typecheck: install
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

# the inner loop: no slow test (live, container stack, subprocess-heavy), hypothesis' fast
# profile (tests/hypo.py: chosen by -m "not slow")
test-fast: lint typecheck
	$(BIN)/pytest -m "not slow"

# optional: a .env to edit (the stack runs without one)
init:
	@if [ -e .env ]; then echo ".env exists: kept"; else cp .env.example .env && chmod 600 .env && echo "wrote .env: every line is an optional override"; fi

bench: install
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/bench_writer.py
	$(BIN)/python bench/bench_api.py
	$(BIN)/python bench/bench_gui.py
	$(BIN)/python bench/bench_live.py
	$(BIN)/python bench/bench_flood.py
	$(BIN)/python bench/bench_mirror.py

# the API/GUI benchmark data set (1 M calls), seeded once and kept (bench/dataset.py)
bench-data: install
	$(BIN)/python bench/dataset.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

config-doc: install
	$(BIN)/python -m db.settings.doc > docs/CONFIG.md
