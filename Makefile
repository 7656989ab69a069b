PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install compile lint typecheck test test-fast bench bench-data clean config-doc init

# Tests write bytecode caches (git- and docker-ignored) even where the environment says not to:
# without them every run recompiles the sources and every `callsift` subprocess does it again
# (about 5 s of CPU per fast loop, README "Tests").
unexport PYTHONDONTWRITEBYTECODE

# A missing, dangling (stale symlink) or broken venv is recreated from scratch.
$(BIN)/python:
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)

install: $(BIN)/python
	CALLSIFT_COMPILE=0 $(BIN)/pip install -q -e '.[dev]'

# The optional compiled hot path (docs/SENSOR.md "Compiled hot path"): mypyc builds
# sniffer.compiled.HOT_MODULES in place, skipped when built from the current sources.
# CALLSIFT_COMPILE=0 (no C compiler here) skips it, and `make test` then tests pure Python only.
CALLSIFT_COMPILE ?= 1
compile: install
	@if [ "$(CALLSIFT_COMPILE)" = 0 ]; then echo "compile: skipped (CALLSIFT_COMPILE=0)"; \
	else CALLSIFT_COMPILE=1 $(BIN)/python setup.py -q build_ext --inplace; fi

lint: install
	$(BIN)/ruff check setup.py sniffer db api gui tests bench
	$(BIN)/ruff format --check setup.py sniffer db api gui tests bench

typecheck: install
	$(BIN)/mypy

# Every test against the compiled hot path, then the sensor's tests again against the pure-
# Python modules (the reference); CALLSIFT_IMPL makes each pass fail rather than test the other.
test: lint typecheck compile
	@if [ "$(CALLSIFT_COMPILE)" = 0 ]; then CALLSIFT_IMPL=pure $(BIN)/pytest; \
	else CALLSIFT_IMPL=compiled $(BIN)/pytest && CALLSIFT_IMPL=pure $(BIN)/pytest tests/sniffer; fi

# the inner loop: no slow test (live, container stack, subprocess-heavy), hypothesis' fast
# profile (tests/hypo.py: chosen by -m "not slow")
test-fast: lint typecheck
	$(BIN)/pytest -m "not slow"

# optional: a .env to edit (the stack runs without one)
init:
	@if [ -e .env ]; then echo ".env exists: kept"; else cp .env.example .env && chmod 600 .env && echo "wrote .env: every line is an optional override"; fi

bench: compile
	$(BIN)/python bench/run_bench.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_scale.py --callgrind
	$(BIN)/python bench/bench_spool.py
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
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache sniffer/_compiled.json
	find sniffer -name '*.so' -delete

config-doc: install
	$(BIN)/python -m db.settings.doc > docs/CONFIG.md
