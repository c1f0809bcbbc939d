"""What ADD reports, from the addresses read on lo (pure: no kernel)."""

from __future__ import annotations

import json
import socket

import pytest

from libcni.types.errors import CNIError
from plugins.loopback.report import loopback_addresses, render, result_dict

V4, V6 = socket.AF_INET, socket.AF_INET6


def test_first_address_of_each_family_in_kernel_order():
    addrs = [(V4, "127.0.0.5", 16), (V4, "127.0.0.1", 8), (V6, "::1", 128)]
    assert loopback_addresses(addrs) == ("127.0.0.5/16", "::1/128")


def test_families_may_be_missing():
    assert loopback_addresses([(V6, "::1", 128)]) == (None, "::1/128")
    assert loopback_addresses([]) == (None, None)


@pytest.mark.parametrize(
    ("addrs", "shown"),
    [
        ([(V4, "127.0.0.1", 8), (V4, "10.0.0.1", 32)], "10.0.0.1"),
        ([(V4, "127.0.0.1", 8), (V6, "::1", 128), (V6, "fd00::1", 64)], "fd00::1"),
        ([(V6, "::ffff:10.0.0.1", 128)], "10.0.0.1"),  # Go prints a v4-mapped address as IPv4
    ],
)
def test_any_non_loopback_address_is_refused(addrs, shown):
    with pytest.raises(CNIError) as caught:
        loopback_addresses(addrs)
    assert (caught.value.code, caught.value.msg) == (
        999,
        f'loopback interface found with non-loopback address "{shown}"',
    )


def test_v4_mapped_loopback_counts_as_loopback():
    assert loopback_addresses([(V6, "::ffff:127.0.0.1", 128)]) == (None, "127.0.0.1/128")


def test_result_has_the_1_0_0_shape_under_any_label():
    for version in ("0.1.0", "0.3.1", "1.1.0"):
        assert result_dict(version, "/run/netns/x", "127.0.0.1/8", None) == {
            "cniVersion": version,
            "interfaces": [{"name": "lo", "mac": "00:00:00:00:00:00", "sandbox": "/run/netns/x"}],
            "ips": [{"interface": 0, "address": "127.0.0.1/8"}],
        }


def test_no_address_means_no_ips_key():
    assert "ips" not in result_dict("1.0.0", "/x", None, None)


def test_render_is_go_pretty_json():
    text = render("1.0.0", "/x", "127.0.0.1/8", "::1/128")
    assert text.startswith(b'{\n    "cniVersion": "1.0.0",\n    "interfaces": [')
    assert not text.endswith(b"\n")
    assert json.loads(text)["ips"][1] == {"interface": 0, "address": "::1/128"}
