"""Config discovery and loading (cni-spec.md 3.1, 3.2, 5.2; L-01..L-07, C-01..C-15)."""

from __future__ import annotations

import json
import os

import pytest

from libcni import conf
from libcni.conf import ConfigError, NoConfigsFoundError, NotFoundError


def conflist(name: str, *types: str, **extra) -> dict:
    return {"cniVersion": "1.0.0", "name": name, "plugins": [{"type": t} for t in types], **extra}


# --- L-01 ConfFiles -----------------------------------------------------------------------------


def test_L01_conf_files_exact_extension_sorted_skipping_dirs(fake):
    for name in ("b.conf", "a.conflist", "c.json", "d.CONF", "e.conf.bak", ".conf", "z.conf"):
        fake.write_conf(name, "{}")
    os.mkdir(os.path.join(fake.conf_dir, "dir.conf"))
    found = [os.path.basename(p) for p in conf.conf_files(fake.conf_dir, [".conf", ".json"])]
    assert found == [".conf", "b.conf", "c.json", "z.conf"]


def test_L01_missing_dir_is_empty_not_an_error(tmp_path):
    assert conf.conf_files(str(tmp_path / "nope"), [".conf"]) == []


# --- L-02 .. L-04 LoadNetworkConf ----------------------------------------------------------------


def test_L02_first_matching_conflist_in_name_order_wins(fake):
    fake.write_conf("20-b.conflist", conflist("net", "beta"))
    fake.write_conf("10-a.conflist", conflist("net", "alpha"))
    fake.write_conf("05-other.conflist", conflist("other", "gamma"))
    loaded = conf.load_network_conf(fake.conf_dir, "net")
    assert [p.network.type for p in loaded.plugins] == ["alpha"]
    assert loaded.bytes == json.dumps(conflist("net", "alpha")).encode()


def test_L02_a_broken_file_aborts_the_search_even_for_another_network(fake):
    fake.write_conf("00-broken.conflist", "{not json")
    fake.write_conf("10-net.conflist", conflist("net", "alpha"))
    with pytest.raises(ConfigError, match="error parsing configuration list: invalid character"):
        conf.load_network_conf(fake.conf_dir, "net")


def test_L03_single_conf_is_up_converted_with_go_bytes(fake):
    fake.write_conf("10-single.conf", '{"cniVersion":"0.4.0","name":"net","type":"alpha","mtu":1400,"a":1.0}')
    fake.write_conf("05-other.json", '{"cniVersion":"0.4.0","name":"x","type":"beta"}')
    loaded = conf.load_network_conf(fake.conf_dir, "net")
    assert loaded.name == "net" and loaded.cni_version == "0.4.0"
    assert loaded.bytes == (
        b'{"cniVersion":"0.4.0","name":"net","plugins":[{"a":1,"cniVersion":"0.4.0","mtu":1400,'
        b'"name":"net","type":"alpha"}]}'
    )
    assert loaded.plugins[0].bytes == b'{"a":1,"cniVersion":"0.4.0","mtu":1400,"name":"net","type":"alpha"}'


def test_L03_conflist_saved_as_conf_fails_with_missing_type(fake):
    fake.write_conf("10-net.conf", conflist("net", "alpha"))
    with pytest.raises(ConfigError, match="^error parsing configuration: missing 'type'$"):
        conf.load_network_conf(fake.conf_dir, "net")


def test_L04_no_files_at_all(fake):
    with pytest.raises(NoConfigsFoundError, match=f"^no net configurations found in {fake.conf_dir}$"):
        conf.load_network_conf(fake.conf_dir, "net")


@pytest.mark.parametrize("filename", ["10-x.conflist", "10-x.conf"])
def test_L04_files_but_no_match(fake, filename):
    body = conflist("x", "alpha") if filename.endswith("list") else {"name": "x", "type": "alpha"}
    fake.write_conf(filename, body)
    with pytest.raises(NotFoundError, match=f'^no net configuration with name "net" in {fake.conf_dir}$'):
        conf.load_network_conf(fake.conf_dir, "net")


# --- L-05 plugins from the network's subdirectory -------------------------------------------------


def test_L05_subdir_plugins_are_appended_in_name_order(fake):
    path = fake.write_conf("10-net.conflist", conflist("net", "alpha"))
    fake.write_conf("net/20-g.conf", {"type": "gamma"})
    fake.write_conf("net/10-b.conf", {"type": "beta", "x": 2})
    fake.write_conf("net/30-ignored.json", {"type": "ignored"})
    loaded = conf.network_conf_from_file(path)
    assert [p.network.type for p in loaded.plugins] == ["alpha", "beta", "gamma"]
    assert loaded.plugins[1].bytes == b'{"type": "beta", "x": 2}'  # a file's own bytes


def test_L05_load_only_inlined_plugins_ignores_the_subdir(fake):
    path = fake.write_conf("10-net.conflist", conflist("net", "alpha", loadOnlyInlinedPlugins="TRUE"))
    fake.write_conf("net/10-b.conf", {"type": "beta"})
    assert [p.network.type for p in conf.network_conf_from_file(path).plugins] == ["alpha"]


def test_L05_plugins_only_from_the_subdir(fake):
    path = fake.write_conf("10-net.conflist", {"cniVersion": "1.0.0", "name": "net"})
    fake.write_conf("net/10-b.conf", {"type": "beta"})
    assert [p.network.type for p in conf.network_conf_from_file(path).plugins] == ["beta"]


def test_L05_zero_plugins_in_total(fake):
    path = fake.write_conf("10-net.conflist", {"cniVersion": "1.0.0", "name": "net"})
    with pytest.raises(ConfigError, match="^no plugin configs found$"):
        conf.network_conf_from_file(path)


def test_L05_subdir_plugin_without_type(fake):
    path = fake.write_conf("10-net.conflist", conflist("net", "alpha"))
    fake.write_conf("net/10-b.conf", {"name": "b"})
    with pytest.raises(ConfigError, match="missing 'type'"):
        conf.network_conf_from_file(path)


def test_C06_inlined_only_without_plugins_key(fake):
    with pytest.raises(ConfigError, match="`loadOnlyInlinedPlugins` is true, and no 'plugins' key"):
        conf.network_conf_from_bytes(b'{"name":"n","loadOnlyInlinedPlugins":true}')


# --- L-06, C-01 .. C-07 parsing ---------------------------------------------------------------


def test_L06_list_keeps_original_bytes_plugins_get_go_bytes():
    raw = (
        b'{"name":"n","cniVersion":"1.0.0","unknown":{"b":1,"a":2},"plugins":[{"type":"t","z":1,"a":"<x>"}]}'
    )
    loaded = conf.network_conf_from_bytes(raw)
    assert loaded.bytes == raw
    assert loaded.plugins[0].bytes == b'{"a":"\\u003cx\\u003e","type":"t","z":1}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{}", "error parsing configuration list: no name"),
        ('{"name": 3}', "error parsing configuration list: invalid name type float64"),
        (
            '{"name": "n", "cniVersion": 1}',
            "error parsing configuration list: invalid cniVersion type float64",
        ),
        ('{"name": "n", "plugins": {}}', "error parsing configuration list: invalid 'plugins' type map"),
        ('{"name": "n", "plugins": []}', "error parsing configuration list: no plugins in list"),
        ('{"name": "n", "disableCheck": "yes"}', 'invalid value "yes" for disableCheck'),
        ('{"name": "n", "disableGC": 1}', "invalid type float64 for disableGC"),
        (
            '{"name": "n", "plugins": [{"name": "x"}]}',
            "failed to parse plugin config 0: error parsing configuration:",
        ),
        ('{"name": "n", "plugins": ["x"]}', "cannot unmarshal string into Go value of type types.PluginConf"),
        (
            '{"name": "n", "plugins": [{"type": "t", "capabilities": {"mac": "yes"}}]}',
            "cannot unmarshal string into Go struct field PluginConf.capabilities of type bool",
        ),
        (
            '{"name": "n", "plugins": [{"type": "t", "ipam": {"type": 1}}]}',
            "cannot unmarshal number into Go struct field PluginConf.ipam.type of type string",
        ),
        ("", "error parsing configuration list: unexpected end of JSON input"),
        ("[1]", "cannot unmarshal array into Go value of type map"),
    ],
)
def test_C0x_list_parse_errors(body, message):
    with pytest.raises(ConfigError) as info:
        conf.network_conf_from_bytes(body.encode())
    assert message in str(info.value)


def test_C04_bool_keys_accept_strings_in_any_case():
    loaded = conf.network_conf_from_bytes(
        b'{"name":"n","disableCheck":"True","disableGC":"FALSE","plugins":[{"type":"t"}]}'
    )
    assert loaded.disable_check is True and loaded.disable_gc is False


def test_C10_type_matches_case_insensitively_like_go():
    loaded = conf.network_conf_from_bytes(
        b'{"name":"n","plugins":[{"Type":"t","CAPABILITIES":{"mac":true}}]}'
    )
    assert loaded.plugins[0].network.type == "t"
    assert loaded.plugins[0].network.capabilities == {"mac": True}


@pytest.mark.parametrize(
    ("cni_version", "versions", "expected"),
    [
        ("0.4.0", ["1.0.0", "0.3.1"], "1.0.0"),
        ("1.0.0", ["0.4.0", "1.1.0", "2.0.0"], "1.1.0"),  # above what we implement: dropped
        ("", ["1.2.0"], ""),  # nothing left: the original (empty) stays
        ("1.5.0", [], "1.5.0"),
        ("0.3.1", ["0.10.0", "0.9.0"], "0.10.0"),  # numeric, not lexical
    ],
)
def test_C02_cni_versions_selection(cni_version, versions, expected):
    body = {"name": "n", "cniVersion": cni_version, "cniVersions": versions, "plugins": [{"type": "t"}]}
    assert conf.network_conf_from_bytes(json.dumps(body).encode()).cni_version == expected


def test_C02_without_cni_versions_the_version_is_verbatim():
    assert conf.network_conf_from_bytes(
        b'{"name":"n","cniVersion":"1.2.3","plugins":[{"type":"t"}]}'
    ).cni_version == ("1.2.3")


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ('"1.0.0"', r"invalid type for cniVersions: \[\]interface \{\}"),
        ("[1]", "invalid type for cniVersions index 0: float64"),
        ('["x.1"]', "invalid cniVersions entry x.1 at index 0"),
    ],
)
def test_C02_bad_cni_versions(versions, message):
    with pytest.raises(ConfigError, match=message):
        conf.network_conf_from_bytes(
            f'{{"name":"n","cniVersions":{versions},"plugins":[{{"type":"t"}}]}}'.encode()
        )


# --- L-80 InjectConf ---------------------------------------------------------------------------------


def test_L80_inject_conf_rules():
    plugin = conf.network_plugin_conf_from_bytes(b'{"type":"t","name":"old","n":5}')
    injected = conf.inject_conf(plugin, {"name": "new", "cniVersion": "1.0.0"})
    assert injected.bytes == b'{"cniVersion":"1.0.0","n":5,"name":"new","type":"t"}'
    with pytest.raises(ConfigError, match="^keys cannot be empty$"):
        conf.inject_conf(plugin, {"": 1})
    with pytest.raises(ConfigError, match="^key 'k' value must not be nil$"):
        conf.inject_conf(plugin, {"k": None})


# --- L-07 the runtime convention ---------------------------------------------------------------------


def test_L07_default_network_is_the_first_loadable_file_of_any_extension(fake):
    fake.write_conf("05-broken.conflist", "{")
    fake.write_conf("10-single.conf", {"cniVersion": "0.4.0", "name": "single", "type": "alpha"})
    fake.write_conf("20-list.conflist", conflist("list", "beta"))
    listed = conf.list_network_confs(fake.conf_dir)
    assert [os.path.basename(p) for p, _ in listed] == [
        "05-broken.conflist",
        "10-single.conf",
        "20-list.conflist",
    ]
    assert isinstance(listed[0][1], ConfigError)
    assert conf.load_default_network(fake.conf_dir).name == "single"
