# Local stack and tests. Each target sets up what it needs, so `make test` works on a
# fresh clone (Debian packages: scripts/install-system-deps.sh, which .ci/run calls).
PYTHON ?= python3
VENV   := .venv
KAFKA  := deploy/kafka/kafka.sh

.PHONY: venv kafka-fetch kafka-up kafka-down kafka-status promtool test lint demo dashboards bench docs

venv: $(VENV)/.installed

# Re-installed only when pyproject.toml changes (the stamp file is newer otherwise), by uv
# (pinned in scripts/venv.sh; pip only when uv cannot be had).
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11+ is needed ($(PYTHON) is $$($(PYTHON) -V 2>&1)); set PYTHON=..."; exit 1; }
	@PYTHON=$(PYTHON) VENV=$(VENV) scripts/venv.sh
	@touch $@

kafka-fetch:
	@$(KAFKA) fetch

kafka-up:
	@$(KAFKA) up

kafka-down:
	@$(KAFKA) down

kafka-status:
	@$(KAFKA) status

promtool:
	@command -v promtool >/dev/null || \
	  { echo "promtool not found: run scripts/install-system-deps.sh (Debian package prometheus)"; exit 1; }

# The pytest fixtures start (and stop) their own broker on 127.0.0.1:19092.
test: venv kafka-fetch promtool
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# ruff on the whole tree; mypy --strict on tthc, services and dashboards (pyproject: [tool.mypy]).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Grafana dashboards and provisioning (deploy/grafana/) and the Prometheus alert rules
# (deploy/prometheus/rules/tthc-*.yml), generated from the indicator catalog.
dashboards: venv
	$(VENV)/bin/python -m dashboards

# The indicator reference page, generated from the methodology profile (tests check it is current).
docs: venv
	$(VENV)/bin/tthc indicators --markdown > docs/indicators.md

# Kafka, `tthc run` (ingest + aggregator + API in one process on embedded ClickHouse), a
# province workload through the ingest, and a live scoreboard; Ctrl-C stops it all.
# Loopback only. Data and logs in var/demo/. See scripts/demo.sh for the knobs (DEMO_*).
demo: venv kafka-fetch
	@scripts/demo.sh

# Benchmarks against the raw limits (about 20 minutes on 2 cores): starts its own broker on
# 127.0.0.1:${KAFKA_PORT:-19492} and writes docs/benchmarks.md and docs/benchmarks.json.
bench: venv kafka-fetch
	$(VENV)/bin/python -m bench $(BENCH_ARGS)
