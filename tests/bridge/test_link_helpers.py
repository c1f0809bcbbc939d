"""pkg.link against the real kernel: the veth born in the netns, lookups, deletion by name."""

from __future__ import annotations

import pytest

from libcni.types.errors import CNIError
from pkg.link import create_veth, delete_link, random_veth_name
from pkg.ns import NetNS

pytestmark = pytest.mark.kernel


def test_random_veth_names():
    names = {random_veth_name() for _ in range(50)}
    assert len(names) == 50 and all(len(n) == 12 and n.startswith("veth") for n in names)
    assert all(int(n[4:], 16) >= 0 for n in names)


def test_veth_with_peer_born_in_the_netns_then_delete(host_ns, container_ns):
    with (
        NetNS.open(host_ns.path) as host,
        NetNS.open(container_ns.path) as cont,
        host.rtnl() as nl,
        cont.rtnl() as cnl,
    ):
        name = create_veth(nl, "eth7", cont, mtu=1400, container_mac="0a:58:00:00:00:07", up=True)
        host_end, cont_end = nl.get_link(name), cnl.get_link("eth7")
        assert host_end is not None and cont_end is not None
        assert host_end.mtu == cont_end.mtu == 1400 and host_end.up and not cont_end.up
        assert cont_end.mac == "0a:58:00:00:00:07" and (host_end.kind, cont_end.kind) == ("veth", "veth")
        assert host_end.peer_index == cont_end.index and cont_end.peer_index == host_end.index
        with pytest.raises(CNIError) as err:
            create_veth(nl, "eth7", cont)
        assert err.value.msg.startswith('container veth name ("eth7") peer provided ("veth')
        assert create_veth(nl, "eth8", cont, host_ifname="myhost0") == "myhost0"
        with pytest.raises(CNIError) as err:
            create_veth(nl, "eth9", cont, host_ifname="myhost0")
        assert err.value.msg == 'container veth name ("eth9") peer provided ("myhost0") already exists'
        assert delete_link(cnl, "eth7") is True
        assert delete_link(cnl, "eth7") is False
        assert delete_link(cnl, "x" * 15) is False
    assert host_ns.link(name) is None  # the peer went with it
    assert host_ns.link("myhost0") is not None
