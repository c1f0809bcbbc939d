"""The Debian package (make deb), installed for real into a scratch root with its own dpkg database
(scripts/deb-root: dpkg --root, maintainer scripts with DPKG_ROOT), beside Debian's Go plugins:
its files, its diversions of the Go plugins it replaces, the demo chain run by the installed
cnitool from the installed /usr/lib/cni, and removal giving the Go plugins back.
The machine's own /usr/lib/cni, /opt/cni/bin and dpkg database are never touched."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.deploy import artifacts
from tests.deploy.chain import run_chain, write_conflist
from tests.harness import unique

pytestmark = pytest.mark.kernel

OURS = ("bridge", "host-local", "tuning", "portmap")
DEB_ROOT = os.path.join(artifacts.ROOT, "scripts", "deb-root")


def dpkg_deb(*argv: str) -> str:
    return subprocess.run(["dpkg-deb", *argv], capture_output=True, text=True, check=True).stdout


def go_package(tmp_path) -> str:
    """Debian's containernetworking-plugins .deb: apt's cache, else `apt-get download`."""
    cache = "/var/cache/apt/archives"
    found = sorted(n for n in os.listdir(cache) if n.startswith("containernetworking-plugins_"))
    if found:
        return os.path.join(cache, found[-1])
    subprocess.run(
        ["apt-get", "download", "-qq", "containernetworking-plugins"], cwd=tmp_path, check=True, timeout=300
    )
    return str(next(tmp_path.glob("containernetworking-plugins_*.deb")))


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> str:
    return artifacts.deb(str(tmp_path_factory.mktemp("deb")))


@pytest.fixture
def installed(package, tmp_path):
    """A scratch root with containernetworking-plugins unpacked, then our package installed."""
    root = tmp_path / "root"
    root.mkdir()
    proc = subprocess.run(
        [DEB_ROOT, str(root), package, "--with-go"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return str(root)


def test_control_fields_and_layout(package):
    fields = dpkg_deb("--field", package)
    assert f"Package: {artifacts.NAME}\n" in fields
    assert f"Version: {artifacts.VERSION}-" in fields
    assert "Depends: libc6" in fields and "iptables" in fields
    # it diverts the Go plugins instead of conflicting with their package
    assert "Conflicts" not in fields and "Replaces" not in fields
    contents = dpkg_deb("--contents", package)
    for name in (*OURS, "cnitool"):
        assert f" ./usr/lib/cni/{name} -> " in contents or f" ./usr/lib/cni/{name}\n" in contents
    assert f"./usr/share/doc/{artifacts.NAME}/copyright" in contents
    assert f"./usr/share/doc/{artifacts.NAME}/changelog.Debian.gz" in contents
    assert "./opt/" not in contents  # Debian packages stay out of /opt
    assert "cni-install" not in contents  # the Kubernetes installer belongs to the image
    preinst = subprocess.run(
        ["dpkg-deb", "--info", package, "preinst"], capture_output=True, text=True, check=True
    ).stdout
    for name in OURS:
        assert name in preinst


def test_installs_beside_the_go_plugins_and_runs_the_chain(installed, tmp_path, host_ns, container_ns):
    lib = os.path.join(installed, "usr", "lib", "cni")
    diversions = subprocess.run(
        ["dpkg-divert", "--root", installed, "--list"], capture_output=True, text=True, check=True
    ).stdout
    for name in OURS:
        assert f"diversion of /usr/lib/cni/{name} to /usr/lib/cni/{name}.distrib by {artifacts.NAME}" in (
            diversions
        )
        # ours answers under the name, the Go one under .distrib (Go 1.1.1 tops out at 1.0.0)
        ours = subprocess.run(
            [os.path.join(lib, name)], env={"CNI_COMMAND": "VERSION"}, capture_output=True, text=True
        )
        go = subprocess.run(
            [os.path.join(lib, name + ".distrib")], env={"CNI_COMMAND": "VERSION"}, capture_output=True
        )
        assert '"1.1.0"' in ours.stdout and go.returncode == 0 and b'"1.1.0"' not in go.stdout
    assert os.access(os.path.join(lib, "loopback"), os.X_OK)  # the Go package's other plugins stay

    netconf = write_conflist(
        str(tmp_path / "net.d"), "debnet", unique("brd"), "10.93.11.0/24", str(tmp_path / "ipam")
    )
    result = run_chain(lib, netconf, "debnet", host_ns, container_ns, str(tmp_path / "cache"))
    assert result["ips"][0]["address"].startswith("10.93.11.")


def test_removal_gives_the_go_plugins_back(installed):
    lib = os.path.join(installed, "usr", "lib", "cni")
    proc = subprocess.run([DEB_ROOT, installed, "--remove"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not os.path.exists(os.path.join(lib, "cnitool"))
    assert not os.path.exists(os.path.join(lib, artifacts.SUPPORT_DIR))
    for name in OURS:
        assert not os.path.lexists(os.path.join(lib, name + ".distrib"))
        go = subprocess.run(
            [os.path.join(lib, name)], env={"CNI_COMMAND": "VERSION"}, capture_output=True, text=True
        )
        assert go.returncode == 0 and '"1.0.0"' in go.stdout
    diversions = subprocess.run(
        ["dpkg-divert", "--root", installed, "--list"], capture_output=True, text=True, check=True
    ).stdout
    assert artifacts.NAME not in diversions


def test_reinstall_and_go_package_arriving_later(package, tmp_path):
    """Our package first, then Debian's Go plugins unpacked over it: theirs land on .distrib.
    Installing ours again (an upgrade to the same version) keeps everything as it was."""
    root = tmp_path / "root"
    root.mkdir()
    lib = root / "usr" / "lib" / "cni"
    for _ in range(2):
        proc = subprocess.run([DEB_ROOT, str(root), package], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    go_deb = go_package(tmp_path)
    unpack = subprocess.run(
        ["dpkg", f"--root={root}", "--log=/dev/null", "--force-script-chrootless", "--force-depends",
         "--unpack", go_deb],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert unpack.returncode == 0, unpack.stdout + unpack.stderr
    for name in OURS:
        ours = subprocess.run([str(lib / name)], env={"CNI_COMMAND": "VERSION"}, capture_output=True)
        assert b'"1.1.0"' in ours.stdout
        assert os.access(lib / f"{name}.distrib", os.X_OK)
    assert os.access(lib / "loopback", os.X_OK)
