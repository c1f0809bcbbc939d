"""portmap's records behave as the frozen dataclasses they replaced (without importing dataclasses):
compared and hashed by value, read-only, printed with their fields, copied and pickled."""

from __future__ import annotations

import copy
import pickle

import pytest

from plugins.portmap.config import ContainerNet, Mapping, PortMapConfig
from plugins.portmap.iptables_rules import Chain
from plugins.portmap.nft_rules import ListedRule

FROZEN = [
    (Mapping(8080, 80, "tcp"), Mapping(8080, 80, "tcp", ""), Mapping(8080, 80, "udp")),
    (ContainerNet("10.0.0.2/24"), ContainerNet("10.0.0.2/24"), ContainerNet("10.0.0.3/24")),
    (
        ListedRule(4, "hostports", 7, "c1"),
        ListedRule(4, "hostports", 7, "c1"),
        ListedRule(6, "hostports", 7, "c1"),
    ),
]


@pytest.mark.parametrize(("one", "same", "other"), FROZEN)
def test_frozen_records_compare_hash_copy_and_refuse_changes(one, same, other):
    assert one == same and hash(one) == hash(same) and one != other
    assert len({one, same, other}) == 2
    assert one != tuple(getattr(one, n) for n in one.__slots__)  # not a tuple
    for duplicate in (copy.copy(one), copy.deepcopy(one), pickle.loads(pickle.dumps(one))):
        assert duplicate == one and type(duplicate) is type(one)
    with pytest.raises(AttributeError):
        setattr(one, one.__slots__[0], None)
    with pytest.raises(AttributeError):
        one.extra = 1


def test_reprs_name_every_field():
    assert repr(Mapping(1, 2, "tcp", "::1")) == (
        "Mapping(host_port=1, container_port=2, protocol='tcp', host_ip='::1')"
    )
    assert repr(ContainerNet("10.0.0.2/24")) == "ContainerNet(address='10.0.0.2/24')"
    assert repr(ListedRule(4, "c", 1, None)) == "ListedRule(family=4, chain='c', handle=1, comment=None)"
    assert repr(Chain("X")) == (
        "Chain(name='X', entry_chains=[], entry_rules=[], rules=[], prepend_entry=False)"
    )


def test_mutable_records_default_to_fresh_lists_and_compare_by_value():
    a, b = Chain("X"), Chain("X")
    a.rules.append(["-j", "ACCEPT"])
    assert b.rules == [] and a != b
    b.rules.append(["-j", "ACCEPT"])
    assert a == b
    with pytest.raises(TypeError):
        hash(a)
    conf = PortMapConfig("n", "iptables", True, False, 13, None, [], [], [], None)
    assert conf.container_nets == [] and conf.ifname == "" and conf.valid_container_ids is None
    assert conf == PortMapConfig("n", "iptables", True, False, 13, None, [], [], [], None)
    conf.valid_container_ids = {"a"}
    assert conf.valid_container_ids == {"a"}
    with pytest.raises(TypeError):
        hash(conf)
