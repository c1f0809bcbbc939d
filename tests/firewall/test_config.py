"""Configuration decoding and validation: defaults, addresses, and errors naming the field."""

from __future__ import annotations

import json

import pytest

from libcni.skel import CmdArgs
from libcni.types.errors import CNIError
from plugins.firewall.config import Address, address_of, check_bridge, load

PREV = {
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "cni0"}, {"name": "veth1"}, {"name": "eth0", "sandbox": "/run/netns/x"}],
    "ips": [{"address": "10.88.0.5/16", "interface": 2}, {"address": "fd00::5/64", "interface": 2}],
}


def args(**conf) -> CmdArgs:
    body = {"cniVersion": "1.0.0", "name": "n", "type": "firewall", **conf}
    data = json.dumps(body).encode()
    return CmdArgs("ADD", "c", "/run/netns/x", "eth0", "", "/opt/cni/bin", data, config=json.loads(data))


def test_defaults_and_addresses():
    conf = load(args(prevResult=PREV), need_prev=True)
    assert (conf.backend, conf.admin_chain, conf.zone, conf.ingress_policy) == (
        "",
        "CNI-ADMIN",
        "trusted",
        "",
    )
    assert conf.addresses == (Address(4, "10.88.0.5/32"), Address(6, "fd00::5/128"))
    assert conf.families == (4, 6)
    assert conf.bridge == "cni0"
    assert conf.hosts(6) == ["fd00::5/128"]


def test_keys_are_read():
    conf = load(
        args(
            backend="iptables",
            iptablesAdminChainName="MY-ADMIN",
            firewalldZone="internal",
            ingressPolicy="isolated",
        )
    )
    assert (conf.backend, conf.admin_chain, conf.zone, conf.ingress_policy) == (
        "iptables",
        "MY-ADMIN",
        "internal",
        "isolated",
    )
    assert conf.isolating


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.1.2.3/24", Address(4, "10.1.2.3/32")),
        ("2001:DB8::1/64", Address(6, "2001:db8::1/128")),
        ("::ffff:10.1.2.3/120", Address(4, "10.1.2.3/32")),
        ("::ffff:a01:203/120", Address(4, "10.1.2.3/32")),
        ("::ffff:1/128", Address(6, "::ffff:1/128")),
    ],
)
def test_address_of_is_gos_ipstring(cidr, expected):
    assert address_of(cidr) == expected


def error(**conf) -> CNIError:
    with pytest.raises(CNIError) as info:
        load(args(**conf), need_prev=True)
    return info.value


def test_missing_prev_result():
    assert error().msg == "missing prevResult from earlier plugin"


def test_unknown_policy_names_value_and_field():
    err = error(prevResult=PREV, ingressPolicy="closed")
    assert err.msg == 'unknown ingress policy: "closed"'
    assert "ingressPolicy" in err.details


@pytest.mark.parametrize("key", ["backend", "ingressPolicy", "iptablesAdminChainName", "firewalldZone"])
def test_wrong_types_name_the_field(key):
    err = error(prevResult=PREV, **{key: 5})
    assert err.msg.startswith("failed to load netconf: ")
    assert key in err.msg or key in err.details


@pytest.mark.parametrize("name", ["has space", "-dash", "X" * 29, "tab\tchain"])
def test_bad_admin_chain_names(name):
    err = error(prevResult=PREV, iptablesAdminChainName=name)
    assert "iptablesAdminChainName" in err.msg and "iptablesAdminChainName" in err.details


def test_bad_prev_result_is_prefixed():
    err = error(prevResult={"cniVersion": "1.0.0", "ips": [{"address": "nonsense"}]})
    assert err.msg.startswith("could not parse prevResult: ")


def test_isolation_needs_the_bridge_interface():
    conf = load(args(prevResult={**PREV, "interfaces": []}, ingressPolicy="same-bridge"), need_prev=True)
    with pytest.raises(CNIError) as info:
        check_bridge(conf)
    assert info.value.msg == (
        'interface needs to be set for ingress policy "same-bridge", '
        'make sure to chain "firewall" plugin with "bridge"'
    )
    conf = load(
        args(prevResult={**PREV, "interfaces": [{"name": ""}]}, ingressPolicy="isolated"), need_prev=True
    )
    with pytest.raises(CNIError, match="got empty bridge name"):
        check_bridge(conf)
