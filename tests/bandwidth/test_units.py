"""Pure parts of bandwidth: validation, the tbf arithmetic, the ifb name, the config decoder (against
the pydantic models it stands in for), the CHECK comparisons and the netlink encoding."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest

from libcni.types.errors import CNIError, ErrCode
from libcni.types.gomodel import parse_model
from pkg.netlink import wire
from pkg.netlink.constants import IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, IFLA_TXQLEN
from plugins.bandwidth import shaping, tcmsg
from plugins.bandwidth.config import LOAD_ERROR_PREFIX, decode, load, validate
from plugins.bandwidth.models import BandwidthConf
from plugins.bandwidth.shaping import Entry, Qdisc, Tbf

PSCHED = "000003e8 00000040 000f4240 3b9aca00\n"  # a current kernel: 15.625 ticks per microsecond


class Args:
    def __init__(self, conf: dict) -> None:
        self.conf = conf


def test_rate_and_burst_go_together():
    assert shaping.rate_burst_error(0, 0) == ""
    assert shaping.rate_burst_error(1000, 0) == "if rate is set, burst must also be set"
    assert shaping.rate_burst_error(0, 1000) == "if burst is set, rate must also be set"
    assert shaping.rate_burst_error(1, 8 * (2**32 - 1)) == "burst cannot be more than 4GB"
    assert shaping.rate_burst_error(1, 8 * (2**32 - 1) - 1) == ""


def test_ifb_name_is_gos_hash():
    # bwp + sha512(network name + container ID), 15 characters (Go's MustFormatHashWithPrefix)
    assert shaping.ifb_name("net1", "ctr1") == "bwp85373d34c684"
    digest = hashlib.sha512(b"mynetabc").hexdigest()
    assert shaping.ifb_name("mynet", "abc") == ("bwp" + digest)[:15]


def test_tick_in_usec():
    assert shaping.tick_in_usec(PSCHED) == 15.625
    # old kernels report a nanosecond clock: Go's "compatibility" branch uses t2us = us2t
    assert shaping.tick_in_usec("00000001 00000040 3b9aca00 3b9aca00") == 1000.0
    assert shaping.tick_in_usec("garbage") == 0.0


def test_tbf_numbers_are_gos():
    ticks = shaping.tick_in_usec(PSCHED)
    # 8 Mbit/s, 80 kbit burst: 1e6 B/s, 10000 B burst = 10 ms = 156250 ticks, limit 25 ms + burst
    assert shaping.tbf(8_000_000, 80_000, ticks) == Tbf(rate=1_000_000, limit=35_000, buffer=156_250)
    assert shaping.tbf(8, 8, ticks) == Tbf(rate=1, limit=1, buffer=15_625_000)
    # rates over 4 GB/s keep 64 bits (sent as TCA_TBF_RATE64)
    big = shaping.tbf(8 * (5 << 30), 8 * 1_000_000, ticks)
    assert big.rate == 5 << 30


def test_plan_directions():
    ticks = shaping.tick_in_usec(PSCHED)
    both = shaping.plan(Entry(8000, 800, 16000, 1600), "n", "c", ticks)
    assert both.ingress == shaping.tbf(8000, 800, ticks)
    assert both.egress == shaping.tbf(16000, 1600, ticks)
    assert both.ifb == shaping.ifb_name("n", "c")
    only_in = shaping.plan(Entry(8000, 800, 0, 0), "n", "c", ticks)
    assert only_in.egress is None and only_in.ingress is not None
    assert Entry(0, 0, 0, 0).is_zero and not Entry(0, 0, 0, 1).is_zero


def test_tbf_mismatch():
    want = Tbf(1000, 2000, 3000)
    root = shaping.ROOT_PARENT
    assert shaping.tbf_mismatch(want, [Qdisc("tbf", shaping.TBF_HANDLE, root, want)]) == ""
    assert shaping.tbf_mismatch(want, []) == "Failed to find qdisc"
    # Go passes when the root is not a tbf; we do not
    assert shaping.tbf_mismatch(want, [Qdisc("noqueue", 0, root, None)]) == "Failed to find qdisc"
    assert shaping.tbf_mismatch(want, [Qdisc("tbf", 1, root, Tbf(1, 2000, 3000))]) == "Rate doesn't match"
    assert shaping.tbf_mismatch(want, [Qdisc("tbf", 1, root, Tbf(1000, 1, 3000))]) == "Limit doesn't match"
    assert shaping.tbf_mismatch(want, [Qdisc("tbf", 1, root, Tbf(1000, 2000, 1))]) == "Buffer doesn't match"


def test_redirect_mismatch():
    ingress = Qdisc("ingress", shaping.INGRESS_HANDLE, shaping.INGRESS_PARENT, None)
    good = tcmsg.Filter("u32", shaping.INGRESS_HANDLE, 1, 3, 0x10001, (tcmsg.Action("mirred", 4, 1, 7),))
    other = tcmsg.Filter("u32", shaping.INGRESS_HANDLE, 1, 3, 0x10001, (tcmsg.Action("mirred", 4, 1, 8),))
    assert shaping.redirect_mismatch([ingress], [good], 7, "bwpx") == ""
    assert shaping.redirect_mismatch([], [good], 7, "bwpx") == "Failed to find the ingress qdisc"
    assert (
        shaping.redirect_mismatch([ingress], [other], 7, "bwpx")
        == "Failed to find the filter redirecting to bwpx"
    )


# --- config --------------------------------------------------------------------------------------

DECODE_CASES = [
    {},
    {"ingressRate": 8000, "ingressBurst": 800},
    {"IngressRate": 8000, "ingressburst": 800},
    {"ingressRate": -1},
    {"ingressRate": "8000"},
    {"ingressRate": 1.5},
    {"ingressRate": 1000.0},
    {"ingressRate": True},
    {"egressBurst": 2**64},
    {"runtimeConfig": 3},
    {"runtimeConfig": {"bandwidth": []}},
    {"runtimeConfig": {"bandwidth": {"egressRate": "1"}}},
    {"runtimeConfig": {"bandwidth": {"egressRate": -5}}},
    {"prevResult": 1},
]


@pytest.mark.parametrize("data", DECODE_CASES, ids=[json.dumps(c) for c in DECODE_CASES])
def test_decoder_follows_the_models(data):
    """The call path's decoder fails exactly where, and how, the pydantic model does."""

    def outcome(fn):
        try:
            fn()
            return "ok"
        except CNIError as err:
            return (err.code, err.msg, err.details)

    expected = outcome(lambda: parse_model(BandwidthConf, data, prefix=LOAD_ERROR_PREFIX))
    assert outcome(lambda: decode(data)) == expected


def test_config_entry_wins_over_runtime_config():
    """Go's embedded *BandwidthEntry: any of the four keys at the top level (even null) makes the
    config's entry the one in force and runtimeConfig.bandwidth is ignored."""
    runtime = {"runtimeConfig": {"bandwidth": {"ingressRate": 8000, "ingressBurst": 800}}}
    assert decode(runtime).entry == Entry(8000, 800, 0, 0)
    assert decode(runtime).where == "runtimeConfig.bandwidth."
    assert decode({**runtime, "egressRate": 16000, "egressBurst": 1}).entry == Entry(0, 0, 16000, 1)
    assert decode({**runtime, "ingressRate": None}).entry == Entry(0, 0, 0, 0)
    assert decode({"runtimeConfig": {"bandwidth": None}}).entry is None
    assert decode({"runtimeConfig": {"bandwidth": {}}}).entry == Entry(0, 0, 0, 0)
    assert decode({}).entry is None


@pytest.mark.parametrize(
    "conf, message, details",
    [
        ({"ingressRate": 8000}, "if rate is set, burst must also be set", "ingressRate=8000, ingressBurst=0"),
        ({"egressBurst": 8000}, "if burst is set, rate must also be set", "egressRate=0, egressBurst=8000"),
        (
            {"runtimeConfig": {"bandwidth": {"egressRate": 1, "egressBurst": 8 * 2**32}}},
            "burst cannot be more than 4GB",
            "runtimeConfig.bandwidth.egressRate=1, runtimeConfig.bandwidth.egressBurst=34359738368",
        ),
    ],
)
def test_validation_errors_name_the_fields(conf, message, details):
    with pytest.raises(CNIError) as caught:
        load(Args({"cniVersion": "1.0.0", "name": "n", "type": "bandwidth", **conf}))
    assert (caught.value.code, caught.value.msg, caught.value.details) == (
        ErrCode.INVALID_NETWORK_CONFIG,
        message,
        details,
    )


def test_validate_ingress_first():
    bw = decode({"ingressRate": 1, "egressBurst": 1})
    with pytest.raises(CNIError, match="if rate is set"):
        validate(bw)


# --- netlink payloads ----------------------------------------------------------------------------


def test_tbf_payload():
    body = tcmsg.tbf_qdisc(7, Tbf(1_000_000, 35_000, 156_250))
    ifindex, qdisc = tcmsg.parse_qdisc(body)  # the dump format is the request format
    assert ifindex == 7
    assert qdisc == Qdisc("tbf", shaping.TBF_HANDLE, shaping.ROOT_PARENT, Tbf(1_000_000, 35_000, 156_250))
    options = wire.attr_map(wire.attr_map(body, 20)[tcmsg.TCA_OPTIONS])
    assert tcmsg.TCA_TBF_RATE64 not in options  # only past 32 bits, like Go's netlink library
    rate_spec = options[tcmsg.TCA_TBF_PARMS][:12]
    assert rate_spec == struct.pack("=BBHhHI", 0, 0, 0, 0, 0, 1_000_000)  # no cell_log, link layer unspec
    big = tcmsg.parse_qdisc(tcmsg.tbf_qdisc(7, Tbf(5 << 30, 1, 1)))[1]
    assert big.tbf.rate == 5 << 30


def test_ingress_payload():
    body = tcmsg.ingress_qdisc(3)
    assert tcmsg.parse_qdisc(body) == (
        3,
        Qdisc("ingress", shaping.INGRESS_HANDLE, shaping.INGRESS_PARENT, None),
    )
    assert wire.attr_map(body, 20)[tcmsg.TCA_OPTIONS] == b""


def test_redirect_filter_payload():
    body = tcmsg.redirect_filter(7, 9)
    assert tcmsg.parse_filter(body) == tcmsg.Filter(
        kind="u32",
        parent=shaping.INGRESS_HANDLE,
        priority=1,
        protocol=shaping.ETH_P_ALL,
        classid=shaping.FILTER_CLASSID,
        actions=(tcmsg.Action("mirred", 4, 1, 9), tcmsg.Action("mirred", 0, 1, 9)),
    )
    sel = wire.attr_map(wire.attr_map(body, 20)[tcmsg.TCA_OPTIONS])[tcmsg.TCA_U32_SEL]
    assert sel == bytes([1, 0, 1, 0]) + bytes(12) + bytes(16)  # terminal, one all-zero key


def test_ifb_payload():
    body = tcmsg.ifb_link("bwp0123456789ab", 1400)
    family, _, _, flags, change = struct.unpack_from("=BxHiII", body)
    assert (family, flags & 1, change & 1) == (0, 1, 1)
    found = wire.attr_map(body, 16)
    assert found[IFLA_IFNAME] == b"bwp0123456789ab\0"
    assert struct.unpack("=I", found[IFLA_MTU])[0] == 1400
    assert struct.unpack("=I", found[IFLA_TXQLEN])[0] == 0
    assert wire.attr_map(found[IFLA_LINKINFO])[IFLA_INFO_KIND] == b"ifb"


# --- no input makes anything but a CNI error ----------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from libcni.skel import dispatch  # noqa: E402
from plugins.bandwidth import PLUGIN  # noqa: E402

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_rates = st.dictionaries(
    st.sampled_from(["ingressRate", "ingressBurst", "egressRate", "egressBurst", "IngressRate"]),
    st.integers(-1, 2**64) | _json,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(
    top=_rates,
    runtime=st.none() | _rates.map(lambda r: {"bandwidth": r}) | _json,
    prev=st.none() | _json | st.just({"cniVersion": "1.0.0", "interfaces": [{"name": "veth0"}]}),
    verb=st.sampled_from(["ADD", "CHECK"]),  # not DEL: it reads the (here: real) host's links first
)
def test_any_config_gives_a_result_or_a_cni_error(top, runtime, prev, verb):
    """ADD and CHECK decode and validate everything before opening the netns (which fails here)."""
    conf = {"cniVersion": "1.0.0", "name": "fuzz", "type": "bandwidth", **top}
    if runtime is not None:
        conf["runtimeConfig"] = runtime
    if prev is not None:
        conf["prevResult"] = prev
    env = {
        "CNI_COMMAND": verb,
        "CNI_CONTAINERID": "c1",
        "CNI_NETNS": "/nonexistent/netns",
        "CNI_IFNAME": "eth0",
        "CNI_PATH": "/nonexistent",
        "CNI_PY_TRACEBACK": "1",
    }
    outcome = dispatch(PLUGIN, env, lambda: json.dumps(conf).encode())
    assert outcome.stderr == b"", outcome.stderr.decode()  # no Python exception escaped as 999
    if outcome.exit_code:
        reply = json.loads(outcome.stdout)
        assert isinstance(reply["code"], int) and reply["msg"]
