# The README's two commands: `make demo` and `make test`. Everything else is set-up they share.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench fault-tolerance lock wheel clean

# The development environment installs the runtime at the versions requirements.lock pins (the ones the
# images get), so a fresh clone next month tests what the images run.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo
	@echo; echo "QuickBooks Desktop, through the Web Connector bridge:"
	$(BIN)/python -m demo.desktop

lint: $(STAMP)
	$(BIN)/ruff check .

# Three workers on two cores: most tests wait on connector processes and sandboxes, not on the CPU.
test: $(STAMP) lint
	$(BIN)/python -m pytest -n 3 --durations=15

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The whole fault-tolerance matrix (every seed, fault and bad input; ~16 min). `make test` runs its fast subset.
fault-tolerance: $(STAMP)
	$(BIN)/python -m pytest integration_tests/fault_tolerance --fault-full

# Pin every runtime dependency at the version installed here (requirements.lock, which the Dockerfiles install from).
lock: $(STAMP)
	$(BIN)/python tools/lock_dependencies.py

# The runtime wheel into dist/: the connectors, the bridge and what they share, none of the development tools
# (sandboxes, demo, benchmarks); what the Dockerfile installs. `pip install -e .` keeps installing everything.
wheel: $(STAMP)
	$(BIN)/python tools/build_runtime_wheel.py --wheel-dir dist

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
