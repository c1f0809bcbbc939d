# Every target sets up what it needs on a fresh machine first (scripts/setup).
VENV := .venv
PY := $(VENV)/bin/python
PREFIX ?= /opt/cni/bin

.PHONY: schemas netlink-constants setup test test-warm test-unit lint demo shims clean build dist install uninstall \
	test-e2e bench conformance stress deb image test-deb-e2e

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
# The plugins' tests again with CNI_PY_WARM=1: every call the runner makes goes through a warm
# server (started by the first cold call of each test's host netns); results must not change.
WARM_TESTS = tests/bridge tests/tuning tests/portmap tests/host_local tests/loopback tests/bandwidth tests/firewall
test-warm: setup
	CNI_TEST_WARM=1 tests/isolated $(PY) -m pytest -q -p no:cacheprovider $(WARM_TESTS)

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

# pkg/netlink/constants.py, generated from pyroute2's definitions.
netlink-constants: setup
	$(PY) scripts/netlink_constants.py

# Launchers named like the plugins, running this checkout (usable as CNI_PATH).
shims: setup
	$(PY) -m launcher.shims build/shims

demo: build
	scripts/demo

clean:
	rm -rf build dist .pytest_cache

# Frozen executables in dist/bin: a launcher per program beside the support directory
# cni-plugins.d/ (build.spec, scripts/build; layout in README.md "Installing").
build: setup
	scripts/build

# The release tarball dist/<project>-linux-<arch>-v<version>.tgz and its .sha256: extracting it
# into /opt/cni/bin is the whole install.
dist: build
	scripts/dist

# The Debian package dist/<name>_<version>-<rev>_<arch>.deb (scripts/deb), checked by lintian.
deb: build
	scripts/deb

# The DaemonSet's image (deploy/Containerfile, FROM scratch), saved as dist/<name>-image-v<version>.tar.
image: build
	command -v podman >/dev/null || scripts/e2e-setup
	scripts/image

# The .deb (rebuilt from this build, lintian left to `make deb`) installed into a scratch root beside
# Debian's Go plugins (scripts/deb-root), then the podman end-to-end tests run against that root's
# /usr/lib/cni, where Debian's podman looks.
test-deb-e2e: build
	scripts/e2e-setup
	LINTIAN=0 scripts/deb
	root=$$(mktemp -d /tmp/cni-deb-root.XXXXXX) && trap 'rm -rf "$$root"' EXIT && \
	scripts/deb-root "$$root" "$$(ls -t dist/*.deb | head -1)" --with-go && \
	E2E_PLUGIN_DIR="$$root/usr/lib/cni" tests/e2e/run -q -k "podman and not deploy"

# The same files as the tarball, written aside and renamed into place (safe on a running node).
install: build
	$(PY) scripts/install $(PREFIX)

uninstall: setup
	$(PY) scripts/install --uninstall $(PREFIX)

# Our built executables (cold and warm) beside the Go reference, with the scale curve; writes
# docs/benchmark.md, docs/benchmark.svg and docs/benchmark-scale.svg (a few minutes).
bench: build
	scripts/private-ns $(PY) bench/suite.py

# The conformance suite against the Go reference and our built plugins (conformance/README.md).
conformance: build
	@mkdir -p build
	$(PY) -m conformance --plugin-dir /usr/lib/cni --report build/conformance-go.json; go=$$?; \
	$(PY) -m conformance --plugin-dir dist/bin --report build/conformance-ours.json; ours=$$?; \
	exit $$((go | ours))
