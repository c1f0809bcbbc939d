"""pkg.link against the real kernel: the veth born in the netns, lookups, the raw DEL."""

from __future__ import annotations

import pytest

from libcni.types.errors import CNIError
from pkg.link import create_veth, delete_link_on_socket, get_link, peer_index, random_veth_name
from pkg.ns import NetNS

pytestmark = pytest.mark.kernel


def test_random_veth_names():
    names = {random_veth_name() for _ in range(50)}
    assert len(names) == 50 and all(len(n) == 12 and n.startswith("veth") for n in names)
    assert all(int(n[4:], 16) >= 0 for n in names)


def test_veth_with_peer_born_in_the_netns_then_raw_delete(host_ns, container_ns):
    with NetNS.open(host_ns.path) as host, NetNS.open(container_ns.path) as cont:
        ipr = host.iproute()
        cipr = cont.iproute()
        try:
            name = create_veth(ipr, "eth7", cont, mtu=1400, container_mac="0a:58:00:00:00:07", up=True)
            host_end, cont_end = get_link(ipr, name), get_link(cipr, "eth7")
            assert host_end.get("mtu") == cont_end.get("mtu") == 1400
            assert cont_end.get("address") == "0a:58:00:00:00:07"
            assert peer_index(host_end) == cont_end["index"] and peer_index(cont_end) == host_end["index"]
            with pytest.raises(CNIError) as err:
                create_veth(ipr, "eth7", cont)
            assert err.value.msg.startswith('container veth name ("eth7") peer provided ("veth')
        finally:
            ipr.close()
            cipr.close()
        with cont.netlink_socket() as sock:
            assert delete_link_on_socket(sock, "eth7") is True
            assert delete_link_on_socket(sock, "eth7") is False
            assert delete_link_on_socket(sock, "x" * 15) is False
    assert host_ns.link(name) is None  # the peer went with it
