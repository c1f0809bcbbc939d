import pytest

from libcni.types.config import NetConf, load_conf
from libcni.types.errors import CNIError
from libcni.types.gomodel import GoModel, lookup, parse_model


class Sample(GoModel):
    bridge: str = "cni0"
    isGateway: bool = False
    mtu: int = 0
    names: list[str] = []


def test_keys_match_case_insensitively():
    m = parse_model(Sample, {"Bridge": "br0", "ISGATEWAY": True, "Mtu": 1400})
    assert (m.bridge, m.isGateway, m.mtu) == ("br0", True, 1400)


def test_exact_key_and_last_duplicate_win():
    assert parse_model(Sample, {"mtu": 1, "MTU": 2}).mtu == 2
    assert parse_model(Sample, {"MTU": 2, "mtu": 1}).mtu == 1


def test_unknown_keys_ignored_and_null_keeps_default():
    m = parse_model(Sample, {"whatever": 1, "bridge": None})
    assert m.bridge == "cni0"


@pytest.mark.parametrize(
    "data,field",
    [
        ({"isGateway": "true"}, "isGateway"),
        ({"mtu": "1500"}, "mtu"),
        ({"mtu": 1.0}, "mtu"),
        ({"mtu": True}, "mtu"),
        ({"bridge": 5}, "bridge"),
        ({"names": "a"}, "names"),
        ({"names": [1]}, "names[0]"),
    ],
)
def test_wrong_types_are_decoding_errors_naming_the_field(data, field):
    with pytest.raises(CNIError) as err:
        parse_model(Sample, data)
    assert err.value.code == 6
    assert f'"{field}"' in err.value.msg
    assert err.value.details == field


def test_load_conf_reports_bad_json_and_non_objects():
    with pytest.raises(CNIError) as err:
        load_conf(NetConf, b"{nope")
    assert err.value.code == 6
    with pytest.raises(CNIError) as err:
        load_conf(NetConf, b"[1]")
    assert err.value.code == 6


def test_netconf_common_keys():
    conf = load_conf(
        NetConf,
        b'{"cniVersion":"1.1.0","Name":"n","type":"bridge","IPAM":{"Type":"host-local"},'
        b'"cni.dev/attachments":[{"containerID":"a","ifname":"eth0"}]}',
    )
    assert conf.name == "n" and conf.ipam_type == "host-local"
    assert [a.containerID for a in conf.gc_valid_attachments()] == ["a"]


def test_valid_attachments_preferred_and_null_is_empty():
    conf = load_conf(
        NetConf,
        b'{"name":"n","cni.dev/valid-attachments":[{"containerID":"b","ifname":"eth1"}],'
        b'"cni.dev/attachments":[{"containerID":"a","ifname":"eth0"}]}',
    )
    assert [a.containerID for a in conf.gc_valid_attachments()] == ["b"]
    conf = load_conf(NetConf, b'{"name":"n","cni.dev/valid-attachments":null}')
    assert conf.gc_valid_attachments() == []


def test_lookup():
    assert lookup({"Type": "a", "TYPE": "b"}, "type") == "b"
    assert lookup({"Type": "a", "type": "c"}, "type") == "c"
    assert lookup({}, "type") is None


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b'{"name": "n", "type": "\\ud873x"}', "\ufffdx"),  # a lone surrogate escape
        (b'{"name": "n", "type": "\xed\xa1\xb3x"}', "\ufffd" * 3 + "x"),  # raw surrogate bytes: one per byte
        (b'{"name": "n", "type": "\xffx"}', "\ufffdx"),  # any invalid UTF-8
    ],
)
def test_invalid_unicode_becomes_replacement_characters_as_in_go(raw, expected):
    assert load_conf(NetConf, raw).type == expected
