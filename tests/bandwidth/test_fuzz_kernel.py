"""Generated configs and states against the real kernel, in-process inside a pod's host netns:
every call ends in a result or a CNI error (never an escaped exception), and a DEL that succeeds
leaves no ifb behind."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libcni.skel import dispatch
from pkg.ns import NetNS
from plugins.bandwidth import PLUGIN
from tests.bandwidth.conftest import Pod, prev_result

pytestmark = pytest.mark.kernel

_rate = st.sampled_from([0, 7, 8, 8000, 8_000_000, 2**31 - 1, 8 * 2**32, -1, "8", None, 1.5])
_entry = st.fixed_dictionaries(
    {},
    optional={k: _rate for k in ("ingressRate", "ingressBurst", "egressRate", "egressBurst")},
)


@pytest.fixture(scope="module")
def shared_pod():
    from tests.bandwidth.conftest import drop_pod, make_pod

    pod = make_pod("fuzz")
    try:
        yield pod
    finally:
        drop_pod(pod)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=_entry,
    runtime=st.none() | _entry,
    prev=st.sampled_from(["pod", "none", "empty", "other", "bad"]),
    netns=st.sampled_from(["pod", "gone", "empty"]),
    ifname=st.sampled_from(["eth0", "eth9", "lo"]),
    verbs=st.lists(st.sampled_from(["ADD", "CHECK", "DEL"]), min_size=1, max_size=4),
)
def test_calls_end_in_a_result_or_a_cni_error(shared_pod: Pod, top, runtime, prev, netns, ifname, verbs):
    pod = shared_pod
    conf: dict = {"cniVersion": "1.0.0", "name": "fuzz", "type": "bandwidth", **top}
    if runtime is not None:
        conf["runtimeConfig"] = {"bandwidth": runtime}
    conf["prevResult"] = {
        "pod": prev_result(pod),
        "none": None,
        "empty": {"cniVersion": "1.0.0"},
        "other": {"cniVersion": "1.0.0", "interfaces": [{"name": "nothere"}]},
        "bad": {"cniVersion": "1.0.0", "ips": [{"address": "nope"}]},
    }[prev]
    path = {"pod": pod.container.path, "gone": "/run/netns/no-such-netns", "empty": ""}[netns]
    with NetNS.open(pod.host.path) as host, host.entered():
        for verb in [*verbs, "DEL"]:
            env = {
                "CNI_COMMAND": verb,
                "CNI_CONTAINERID": pod.container_id,
                "CNI_NETNS": path or ("" if verb == "DEL" else "/run/netns/no-such-netns"),
                "CNI_IFNAME": ifname,
                "CNI_PATH": "/nonexistent",
                "CNI_PY_TRACEBACK": "1",
            }
            outcome = dispatch(PLUGIN, env, lambda: json.dumps(conf).encode())
            assert outcome.stderr == b"", outcome.stderr.decode()
            if outcome.exit_code:
                reply = json.loads(outcome.stdout)
                assert isinstance(reply["code"], int) and reply["msg"]
            elif verb == "DEL":
                assert pod.ifbs() == []
        # whatever happened, a last DEL with a clean config of the same network leaves nothing
        clean = {"cniVersion": "1.0.0", "name": "fuzz", "type": "bandwidth", "prevResult": prev_result(pod)}
        env = {**env, "CNI_COMMAND": "DEL", "CNI_NETNS": pod.container.path, "CNI_IFNAME": "eth0"}
        assert dispatch(PLUGIN, env, lambda: json.dumps(clean).encode()).exit_code == 0
    assert pod.ifbs() == []
    pod.host.run("tc", "qdisc", "del", "dev", "vethbw0", "root", check=False)
    pod.host.run("tc", "qdisc", "del", "dev", "vethbw0", "ingress", check=False)
