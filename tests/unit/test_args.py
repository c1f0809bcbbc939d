import pytest

from libcni.types.args import load_args, parse_pairs
from libcni.types.errors import CNIError


def test_empty_is_nothing():
    assert load_args("", {"IP"}) == {}


def test_known_keys_are_case_sensitive():
    assert load_args("IP=10.0.0.5;IgnoreUnknown=1;ip=x", {"IP"}) == {"IP": "10.0.0.5"}
    with pytest.raises(CNIError) as err:
        load_args("ip=10.0.0.5", {"IP"})
    assert err.value.msg == 'ARGS: unknown args ["ip=10.0.0.5"]'


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True"])
def test_ignore_unknown_true(value):
    assert load_args(f"IgnoreUnknown={value};K8S_POD_NAME=web;MAC=x", {"MAC"}) == {"MAC": "x"}


@pytest.mark.parametrize("value", ["0", "false", "FALSE"])
def test_ignore_unknown_false(value):
    with pytest.raises(CNIError) as err:
        load_args(f"IgnoreUnknown={value};K8S_POD_NAME=web", {"MAC"})
    assert err.value.msg == 'ARGS: unknown args ["K8S_POD_NAME=web"]'


def test_bad_bool():
    with pytest.raises(CNIError) as err:
        load_args("IgnoreUnknown=yes", set())
    assert "boolean unmarshal error" in err.value.msg


@pytest.mark.parametrize("text", ["A=1;", "A", "A=1=2", ";", "A=1;;B=2"])
def test_invalid_pairs(text):
    with pytest.raises(CNIError) as err:
        parse_pairs(text)
    assert err.value.msg.startswith("ARGS: invalid pair")
    assert err.value.code == 4


def test_empty_value_and_key_are_pairs():
    assert parse_pairs("A=;=B") == [("A", ""), ("", "B")]
