# inqd — the two quick-start commands are `make demo` and `make test` (both install what they need).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test chromium postgresql lint typecheck bench bench-timers bench-timers-postgres bench-detection bench-quiet-polls bench-scale bench-idle bench-privacy bench-answer bench-web bench-report bench-all soak soak-answers soak-instances faults-long prove clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("inqd needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Run the daemon on the built-in marketplace sandbox with the console sink (Ctrl-C to stop).
demo: $(STAMP)
	$(BIN)/inqd demo $(ARGS)

## The whole test suite: lint, type check, tests (the web inbox's in a real headless Chromium).
test: $(STAMP) chromium postgresql
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	INQD_REQUIRE_CHROMIUM=1 INQD_REQUIRE_POSTGRES=1 $(BIN)/pytest

## Debian's Chromium for the browser tests, installed from the system packages when missing (CI runs as root),
## with a Korean font (fonts-nanum) so the screenshots the tests save show Korean text, not empty boxes.
chromium:
	@{ command -v chromium >/dev/null && fc-list :lang=ko 2>/dev/null | grep -q . ; } || { \
		echo "installing Debian's chromium and a Korean font for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-nanum >/dev/null; }

## Debian's PostgreSQL server binaries for the store's PostgreSQL tests (each test session starts a throwaway
## cluster of its own; the packaged cluster the install creates is not used), installed when missing.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing Debian's postgresql for the store tests"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

## Benchmarks (not part of the test suite): printed figures and ratios; results in docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python -m bench.ingest

bench-timers: $(STAMP)
	$(BIN)/python -m bench.timers --across-restart --quiet-hours

bench-timers-postgres: $(STAMP) postgresql
	$(BIN)/python -m bench.replan_postgres --quiet-hours

bench-detection: $(STAMP)
	$(BIN)/python -m bench.detection

bench-quiet-polls: $(STAMP)
	$(BIN)/python -m bench.quiet_polls

bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale

bench-idle: $(STAMP)
	$(BIN)/python -m bench.idle

## Buyer-data masking: recall per kind and decoy words intact on the labelled corpus (ARGS="--corpus FILE --kiwi").
bench-privacy: $(STAMP)
	$(BIN)/python -m bench.privacy $(ARGS)

## Answer latency: the approval committed -> the answer request at the sandbox, p50/p99 per path (target p99 <= 0.2 s).
bench-answer: $(STAMP)
	$(BIN)/python -m bench.answer $(ARGS)

## The web inbox with 10,000 open inquiries: GET / p95 (target <= 100 ms) and page weight (target <= 150 KB).
bench-web: $(STAMP)
	$(BIN)/python -m bench.web $(ARGS)

## The answer-time report over a year of 100 inquiries a day (target <= 1 s).
bench-report: $(STAMP)
	$(BIN)/python -m bench.report $(ARGS)

bench-all: bench bench-timers bench-timers-postgres bench-detection bench-quiet-polls bench-idle bench-scale bench-privacy bench-answer bench-web bench-report

## The long runs of the proof suites (CI runs their short variants inside `make test`).
soak: $(STAMP)
	$(BIN)/python -m bench.soak --inquiries 200 --kills 10

soak-answers: $(STAMP)
	$(BIN)/python -m bench.answer_soak --answers 200 --kills 10

## Three instances on one throwaway PostgreSQL, the four sandboxes, kill -9 six times (make postgresql first).
soak-instances: $(STAMP) postgresql
	$(BIN)/python -m bench.soak_instances --inquiries 120 --kills 6

faults-long: $(STAMP)
	INQD_LONG=1 $(BIN)/pytest -q tests/test_faults.py

prove: soak soak-answers soak-instances faults-long bench-all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
