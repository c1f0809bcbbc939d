# Every target sets up what it needs on a fresh machine first (scripts/setup).
VENV := .venv
PY := $(VENV)/bin/python
PREFIX ?= /opt/cni/bin

.PHONY: schemas setup test test-unit lint demo shims clean build install test-e2e bench conformance stress

setup:
	@scripts/setup

# The whole suite: unit tests, then kernel tests inside a private network + mount namespace.
test: setup
	tests/isolated $(PY) -m pytest -q -p no:cacheprovider tests

# End to end: real containerd (ctr run --cni) and podman run containers through the built plugins
# (dist/bin), inside private namespaces; installs the runtimes first (scripts/e2e-setup).
# E2E_PLUGIN_DIR=/usr/lib/cni runs the same tests on the Go reference plugins.
test-e2e: build
	scripts/e2e-setup
	tests/e2e/run

# Hardening: fuzzing, SIGKILL fault injection, parallel chains and security probes inside
# tests/isolated, report in build/stress (docs/reliability.md). STRESS_SIZE=small is CI's bounded run.
STRESS_SIZE ?= full
stress: setup
	tests/isolated $(PY) -m stress --size $(STRESS_SIZE) --out build/stress

# Only the tests that need neither root nor namespaces.
test-unit: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not kernel" tests

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m libcni.schemagen --check

# The call path's decoding tables (schema.py modules), generated from the pydantic models.
schemas: setup
	$(PY) -m libcni.schemagen

# Launchers named like the plugins, running this checkout (usable as CNI_PATH).
shims: setup
	$(PY) -m launcher.shims build/shims

demo: build
	scripts/demo

clean:
	rm -rf build dist .pytest_cache

# Frozen executables in dist/bin (PyInstaller onedir multi-call bundle, see build.spec).
build: setup
	scripts/build

install: build
	install -d $(PREFIX)
	cp -a dist/bin/. $(PREFIX)/

# Our built executables beside the Go reference; writes docs/benchmark.md and docs/benchmark.svg.
bench: build
	scripts/private-ns $(PY) bench/suite.py

# The conformance suite against the Go reference and our built plugins (conformance/README.md).
conformance: build
	@mkdir -p build
	$(PY) -m conformance --plugin-dir /usr/lib/cni --report build/conformance-go.json; go=$$?; \
	$(PY) -m conformance --plugin-dir dist/bin --report build/conformance-ours.json; ours=$$?; \
	exit $$((go | ours))
