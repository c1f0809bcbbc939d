"""cni-install: settings, one installation pass, and the loop that keeps the node installed."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

from launcher.install import conflist, files, node

HELP = """Install this bundle's CNI plugins and the node's network configs (the DaemonSet's job).

Settings come from the environment (how a DaemonSet passes them) and can be given as options:

  CNI_INSTALL_SOURCE  programs to install (the image's release layout)  default /opt/pycni/bin
  CNI_BIN_DIR         where they go (the node's /opt/cni/bin, mounted)  default /host/opt/cni/bin
  CNI_CONF_DIR        where the configs go (the node's /etc/cni/net.d)  default /host/etc/cni/net.d
  POD_CIDRS           the node's pod CIDR(s), comma separated; when unset they are read from
                      the Node object NODE_NAME (spec.podCIDRs) through the Kubernetes API
  CNI_NETWORK_NAME    network name (pycni); CNI_BRIDGE bridge name (cni0); CNI_MTU bridge MTU
  CNI_TUNING_SYSCTL   JSON object of sysctls for the tuning plugin (none by default)
  CNI_CONFLIST_NAME   file name of the pod network config (10-pycni.conflist)
  CNI_LOOPBACK_CONF   "false" to not write 99-loopback.conf
  CNI_INSTALL_INTERVAL seconds between checks while running (60)
  CNI_INSTALL_API_SERVER  the API server's URL (default: from KUBERNETES_SERVICE_HOST/PORT)
  CNI_INSTALL_SERVICE_ACCOUNT_DIR  token and ca.crt (/var/run/secrets/kubernetes.io/serviceaccount)

Without --once it stays running: every interval it makes sure the programs and configs are
still as they should be (a replaced image version starts a new pod that installs itself), and
exits 0 on SIGTERM or SIGINT, leaving the node installed.
"""
SKIP = frozenset({"cni-install"})  # the installer itself has no business on the node


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} cni-install: {message}", flush=True)


def parse_args(argv: list[str] | None, env: dict[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cni-install", description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--once", action="store_true", help="install once and exit (no loop)")
    parser.add_argument("--source", default=env.get("CNI_INSTALL_SOURCE", "/opt/pycni/bin"))
    parser.add_argument("--bin-dir", default=env.get("CNI_BIN_DIR", "/host/opt/cni/bin"))
    parser.add_argument("--conf-dir", default=env.get("CNI_CONF_DIR", "/host/etc/cni/net.d"))
    parser.add_argument("--pod-cidrs", default=env.get("POD_CIDRS", ""))
    parser.add_argument("--interval", default=env.get("CNI_INSTALL_INTERVAL", "60"))
    options = parser.parse_args(argv)
    try:
        options.interval = float(options.interval)
        if not options.interval > 0:
            raise ValueError
    except ValueError:
        parser.error(f"CNI_INSTALL_INTERVAL / --interval: {options.interval!r} is not a positive number")
    return options


class Installer:
    def __init__(self, options: argparse.Namespace, env: dict[str, str]):
        self.options = options
        self.env = env
        self.cidrs: list[str] | None = None
        if options.pod_cidrs.strip():
            self.cidrs = conflist.parse_cidrs(options.pod_cidrs, "POD_CIDRS")
        self.network = self._network_settings()

    def _network_settings(self) -> dict:
        env = self.env
        settings: dict = {
            "name": env.get("CNI_NETWORK_NAME", "pycni"),
            "bridge": env.get("CNI_BRIDGE", "cni0"),
        }
        if env.get("CNI_MTU"):
            try:
                settings["mtu"] = int(env["CNI_MTU"])
            except ValueError:
                raise conflist.SettingError(f"CNI_MTU: {env['CNI_MTU']!r} is not a number") from None
        if env.get("CNI_TUNING_SYSCTL"):
            try:
                sysctl = json.loads(env["CNI_TUNING_SYSCTL"])
            except ValueError:
                sysctl = None
            if not isinstance(sysctl, dict) or not all(isinstance(v, str) for v in sysctl.values()):
                raise conflist.SettingError(
                    f"CNI_TUNING_SYSCTL: {env['CNI_TUNING_SYSCTL']!r} is not a JSON object of strings"
                )
            settings["sysctl"] = sysctl
        return settings

    def pod_cidrs(self) -> list[str]:
        if self.cidrs is None:  # read once: a node's pod CIDRs do not change while it exists
            name = self.env.get("NODE_NAME", "")
            if not name:
                raise node.NodeError("neither POD_CIDRS nor NODE_NAME is set")
            sa = self.env.get("CNI_INSTALL_SERVICE_ACCOUNT_DIR", node.SERVICE_ACCOUNT)
            found = node.pod_cidrs(
                node.read_node(
                    name,
                    node.api_server(self.env),
                    os.path.join(sa, "token"),
                    os.path.join(sa, "ca.crt"),
                )
            )
            self.cidrs = conflist.parse_cidrs(",".join(found), f"node {name} spec.podCIDRs")
            log(f"node {name}: pod CIDRs {', '.join(self.cidrs)}")
        return self.cidrs

    def install(self) -> bool:
        """One pass; True when anything on the node changed."""
        o = self.options
        report = files.install_programs(o.source, o.bin_dir, SKIP)
        changed = bool(report.changed or report.removed)
        if report.changed:
            log(f"{o.bin_dir}: installed {', '.join(report.changed)}")
        if report.removed:
            log(f"{o.bin_dir}: removed old {', '.join(report.removed)}")
        configs = {
            self.env.get("CNI_CONFLIST_NAME", "10-pycni.conflist"): conflist.pod_network(
                self.pod_cidrs(), **self.network
            )
        }
        if self.env.get("CNI_LOOPBACK_CONF", "true").lower() != "false":
            configs["99-loopback.conf"] = conflist.loopback()
            if not os.access(os.path.join(o.bin_dir, "loopback"), os.X_OK):
                log(f"note: no 'loopback' plugin in {o.bin_dir}; this bundle does not provide one")
        for name, conf in configs.items():
            path = os.path.join(o.conf_dir, name)
            if files.write_if_changed(path, conflist.render(conf)):
                log(f"{path}: written")
                changed = True
        if not changed:
            log("node already up to date")
        return changed


def main(argv: list[str] | None = None) -> None:
    env = dict(os.environ)
    options = parse_args(argv, env)
    try:
        installer = Installer(options, env)
    except conflist.SettingError as e:
        log(f"error: {e}")
        raise SystemExit(2) from None
    if options.once:
        try:
            installer.install()
        except (OSError, node.NodeError, conflist.SettingError) as e:
            log(f"error: {e}")
            raise SystemExit(1) from None
        return
    # The loop: block SIGTERM/SIGINT and take them synchronously, so a stop never lands
    # in the middle of a copy (and PID 1 in a container still gets them).
    stops = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    while True:
        try:
            installer.install()
        except (OSError, node.NodeError, conflist.SettingError) as e:
            log(f"error: {e}; retrying in {options.interval:g}s")
        got = signal.sigtimedwait(stops, options.interval)
        if got is not None:
            log(f"{signal.Signals(got.si_signo).name}: stopping; the node keeps what is installed")
            sys.stdout.flush()
            return
