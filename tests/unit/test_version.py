import pytest

from libcni.types.errors import CNIError
from libcni.types.version import SUPPORTED_VERSIONS, family_of, greater_or_equal, parse_version


@pytest.mark.parametrize(
    "text,expected",
    [("", (0, 1, 0)), ("1", (1, 0, 0)), ("0.4", (0, 4, 0)), ("1.1.0", (1, 1, 0)), ("10.20.30", (10, 20, 30))],
)
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["1.2.3.4", "a.b.c", "1.x", "-1.0.0", "1..0"])
def test_parse_version_rejects(text):
    with pytest.raises(CNIError) as err:
        parse_version(text)
    assert err.value.code == 6


def test_ordering_is_numeric():
    assert greater_or_equal("0.10.0", "0.4.0")
    assert not greater_or_equal("0.3.1", "0.4.0")
    assert greater_or_equal("", "0.1.0")


def test_families_cover_supported_versions():
    assert all(family_of(v) for v in SUPPORTED_VERSIONS)
    assert family_of("") == ("0.1.0", "0.2.0")
    assert family_of("1.0") is None and family_of("1.2.0") is None
