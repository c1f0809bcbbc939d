import pytest

from libcni.types.errors import CNIError
from pkg.hashing import format_chain_name, format_comment, sha512_hex
from pkg.mac import parse_mac


def test_chain_names_match_go():
    assert format_chain_name("test", "1234") == "CNI-2bbe0c48b91a7d1b8a6753a8"
    assert format_chain_name("test", "1234", "DN-") == "CNI-DN-2bbe0c48b91a7d1b8a675"


def test_nft_hashes_match_go():
    assert sha512_hex("unit-test")[:16] == "6fd94d501e58f0aa"
    assert sha512_hex("eth0:one")[:16] == "287fc69eff0574a2"


def test_comment_quotes_like_go():
    assert format_comment('n"1', "a\\b") == 'name: "n\\"1" id: "a\\\\b"'


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0A:58:0A:01:00:05", "0a:58:0a:01:00:05"),
        ("0a-58-0a-01-00-05", "0a:58:0a:01:00:05"),
        ("0a58.0a01.0005", "0a:58:0a:01:00:05"),
        ("02:00:00:00:00:00:00:01", "02:00:00:00:00:00:00:01"),
    ],
)
def test_parse_mac(text, expected):
    assert parse_mac(text) == expected


@pytest.mark.parametrize(
    "text", ["", "0a:58:0a:01:00", "0a:58-0a:01:00:05", "zz:58:0a:01:00:05", "0a580a010005"]
)
def test_parse_mac_rejects(text):
    with pytest.raises(CNIError) as err:
        parse_mac(text, "runtimeConfig.mac")
    assert err.value.details == "runtimeConfig.mac" and "invalid MAC address" in err.value.msg
