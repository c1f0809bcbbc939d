"""The chain the fault and concurrency parts drive, the way a runtime does: bridge (+host-local),
tuning and portmap in one conflist, run through our libcni (CNIConfig) with our launchers.

`exec_one` runs a single plugin of the chain by hand (its stdin built by libcni, so prevResult
and runtimeConfig are exactly what a runtime sends) and can kill it after a delay.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from libcni.api import CNIConfig, RuntimeConf, parse_plugin_result
from libcni.conf import NetworkConfigList, network_conf_from_bytes
from libcni.types.results import AnyResult

CACHE_DIR = "/var/lib/cni/stress-cache"


def conflist(
    name: str,
    bridge: str,
    subnet: str,
    *,
    masq_backend: str = "nftables",
    portmap_backend: str = "nftables",
    data_dir: str = "/var/lib/cni/networks",
    tuning_dir: str = "/run/cni/tuning",
    version: str = "1.0.0",
) -> dict[str, Any]:
    return {
        "cniVersion": version,
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "ipMasqBackend": masq_backend,
                "macspoofchk": True,
                "hairpinMode": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "dataDir": data_dir},
            },
            {
                "type": "tuning",
                "dataDir": tuning_dir,
                "sysctl": {"net.ipv4.conf.IFNAME.arp_notify": "1"},
                "mtu": 1400,
                "promisc": True,
                "capabilities": {"mac": True},
            },
            {
                "type": "portmap",
                "backend": portmap_backend,
                "snat": True,
                "capabilities": {"portMappings": True},
            },
        ],
    }


@dataclass
class Chain:
    launchers: str
    conf: dict[str, Any]
    cache_dir: str = CACHE_DIR
    env_extra: dict[str, str] | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self.list: NetworkConfigList = network_conf_from_bytes(json.dumps(self.conf).encode())
        env = dict(os.environ)
        env.update(self.env_extra or {})
        self.cni = CNIConfig(
            [self.launchers],
            cache_dir=self.cache_dir,
            env=env,
            timeout=self.timeout,
            stderr=lambda data: None,
        )

    def runtime(self, container_id: str, netns: str, port: int = 0, ifname: str = "eth0") -> RuntimeConf:
        caps: dict[str, Any] = {}
        if port:
            caps["portMappings"] = [{"hostPort": port, "containerPort": 80, "protocol": "tcp"}]
        return RuntimeConf(container_id=container_id, netns=netns, ifname=ifname, capability_args=caps)

    def add(self, rt: RuntimeConf) -> AnyResult | None:
        return self.cni.add_network_list(self.list, rt)

    def delete(self, rt: RuntimeConf) -> None:
        self.cni.del_network_list(self.list, rt)

    def check(self, rt: RuntimeConf) -> None:
        self.cni.check_network_list(self.list, rt)

    # -- one plugin by hand --

    def stdin_for(self, index: int, prev: AnyResult | None, rt: RuntimeConf) -> bytes:
        net = self.list.plugins[index]
        return self.cni.build_config(self.list.name, self.list.cni_version, net, prev, rt).bytes

    def exec_one(
        self,
        index: int,
        command: str,
        prev: AnyResult | None,
        rt: RuntimeConf,
        kill_after: float | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Exec:
        """Run plugin `index` of the list; with kill_after, SIGKILL its process group then."""
        net = self.list.plugins[index]
        stdin = self.stdin_for(index, prev, rt)
        env = self.cni._env(command, rt)  # noqa: SLF001 - the exact environment libcni gives
        env.update(extra_env or {})
        path = os.path.join(self.launchers, net.network.type)
        started = time.monotonic()
        proc = subprocess.Popen(
            [path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            process_group=0,
        )
        killed = False
        if kill_after is None:
            out, err = proc.communicate(stdin, timeout=self.timeout)
        else:
            assert proc.stdin is not None
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            proc.stdin = None  # written and closed: communicate() only reads
            deadline = started + kill_after
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.0005)
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed = True
                except ProcessLookupError:
                    pass
            out, err = proc.communicate(timeout=self.timeout)
        seconds = time.monotonic() - started
        result = None
        if proc.returncode == 0 and command == "ADD":
            result = parse_plugin_result(stdin, out)
        return Exec(proc.returncode, out, err, seconds, killed, result)


@dataclass
class Exec:
    code: int
    stdout: bytes
    stderr: bytes
    seconds: float
    killed: bool
    result: AnyResult | None
