"""Loading network configurations the way Go's libcni/conf.go does.

A network is a conflist (`.conflist`, or a legacy single-plugin `.conf`/`.json` up-converted to a
one-plugin list). Plugin objects keep Go's bytes (sorted keys, numbers as float64) because that
is what plugins receive on stdin; the list keeps the file's original bytes (they go into the
result cache). Error texts are Go's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from . import gojson
from .types.errors import CNIError
from .types.version import CURRENT, parse_version


class ConfigError(ValueError):
    """A configuration that cannot be loaded (Go returns these as plain errors)."""


class NotFoundError(ConfigError):
    def __init__(self, directory: str, name: str) -> None:
        super().__init__(f'no net configuration with name "{name}" in {directory}')
        self.dir, self.name = directory, name


class NoConfigsFoundError(ConfigError):
    def __init__(self, directory: str) -> None:
        super().__init__(f"no net configurations found in {directory}")
        self.dir = directory


@dataclass
class PluginConf:
    """The keys libcni itself reads from a plugin object (Go's types.PluginConf)."""

    cni_version: str = ""
    name: str = ""
    type: str = ""
    capabilities: dict[str, bool] = field(default_factory=dict)


@dataclass
class PluginConfig:
    network: PluginConf
    bytes: bytes


@dataclass
class NetworkConfigList:
    name: str
    cni_version: str = ""
    disable_check: bool = False
    disable_gc: bool = False
    load_only_inlined_plugins: bool = False
    plugins: list[PluginConfig] = field(default_factory=list)
    bytes: bytes = b""


# --- Go-like error texts -------------------------------------------------------------------------


def os_error_text(op: str, path: str, err: OSError) -> str:
    """Go's *PathError text: 'open /x: no such file or directory'."""
    reason = err.strerror or str(err)
    return f"{op} {path}: {reason[:1].lower()}{reason[1:]}"


_JSON_CONTEXT = {
    "Expecting value": "looking for beginning of value",
    "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
    "Expecting ':' delimiter": "after object key",
    "Expecting ',' delimiter": "after object key:value pair",
    "Extra data": "after top-level value",
}


def json_error_text(err: json.JSONDecodeError) -> str:
    """Roughly Go's syntax error text for a Python decode error."""
    text = err.doc
    if err.pos >= len(text.rstrip()):
        return "unexpected end of JSON input"
    context = _JSON_CONTEXT.get(err.msg, err.msg)
    if err.msg == "Expecting ',' delimiter" and text.rfind("[", 0, err.pos) > text.rfind("{", 0, err.pos):
        context = "after array element"
    return f"invalid character {text[err.pos]!r} {context}"


def _go_json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _decode_json(data: bytes) -> Any:
    try:
        return gojson.loads(data)
    except json.JSONDecodeError as err:
        raise ConfigError(json_error_text(err)) from None
    except ValueError as err:
        raise ConfigError(str(err)) from None


# --- types.PluginConf decoding (typed fields checked like encoding/json) ------------------------

_STR = "string"
_STRS = "[]string"
# json tag -> Go type; nested structs as dicts of their own tags.
_DNS_FIELDS = {"nameservers": _STRS, "domain": _STR, "search": _STRS, "options": _STRS}
_ATTACHMENT_FIELDS = {"containerID": _STR, "ifname": _STR}
_PLUGIN_FIELDS: dict[str, Any] = {
    "cniVersion": _STR,
    "name": _STR,
    "type": _STR,
    "capabilities": "map[string]bool",
    "ipam": {"type": _STR},
    "dns": _DNS_FIELDS,
    "prevResult": "map[string]interface {}",
    "cni.dev/valid-attachments": ("[]", _ATTACHMENT_FIELDS),
}


def _match_field(fields: dict[str, Any], key: str) -> str | None:
    if key in fields:
        return key
    lowered = key.lower()
    for name in fields:
        if name.lower() == lowered:
            return name
    return None


def _type_error(value: Any, path: str, gotype: str) -> str:
    return f"json: cannot unmarshal {_go_json_kind(value)} into Go struct field {path} of type {gotype}"


def _check_struct(obj: dict, fields: dict[str, Any], path: str, errors: list[str]) -> dict[str, Any]:
    """Decode `obj` into the struct described by `fields`; type errors are collected (Go keeps
    decoding and reports the first)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = _match_field(fields, key)
        if name is None or value is None:
            continue
        spec = fields[name]
        where = f"{path}.{name}"
        if spec == _STR:
            if isinstance(value, str):
                out[name] = value
            else:
                errors.append(_type_error(value, where, "string"))
        elif spec == _STRS:
            if not isinstance(value, list):
                errors.append(_type_error(value, where, "[]string"))
                continue
            for item in value:
                if item is not None and not isinstance(item, str):
                    errors.append(_type_error(item, where, "string"))
            out[name] = [v if isinstance(v, str) else "" for v in value]
        elif spec == "map[string]bool":
            if not isinstance(value, dict):
                errors.append(_type_error(value, where, "map[string]bool"))
                continue
            caps: dict[str, bool] = {}
            for cap, enabled in value.items():
                if enabled is None:
                    caps[cap] = False
                elif isinstance(enabled, bool):
                    caps[cap] = enabled
                else:
                    errors.append(_type_error(enabled, where, "bool"))
            out[name] = caps
        elif spec == "map[string]interface {}":
            if isinstance(value, dict):
                out[name] = value
            else:
                errors.append(_type_error(value, where, spec))
        elif isinstance(spec, dict):
            if isinstance(value, dict):
                out[name] = _check_struct(value, spec, where, errors)
            else:
                gotype = "types.DNS" if spec is _DNS_FIELDS else "types.IPAM"
                errors.append(_type_error(value, where, gotype))
        else:  # a slice of structs
            if not isinstance(value, list):
                errors.append(_type_error(value, where, "[]types.GCAttachment"))
                continue
            for item in value:
                if item is None:
                    continue
                if isinstance(item, dict):
                    _check_struct(item, spec[1], where, errors)
                else:
                    errors.append(_type_error(item, where, "types.GCAttachment"))
    return out


def decode_plugin_conf(raw: Any) -> PluginConf:
    """json.Unmarshal(bytes, &types.PluginConf{}) minus the fields libcni never reads."""
    if raw is None:
        return PluginConf()
    if not isinstance(raw, dict):
        raise ConfigError(
            f"json: cannot unmarshal {_go_json_kind(raw)} into Go value of type types.PluginConf"
        )
    errors: list[str] = []
    decoded = _check_struct(raw, _PLUGIN_FIELDS, "PluginConf", errors)
    if errors:
        raise ConfigError(errors[0])
    return PluginConf(
        cni_version=decoded.get("cniVersion", ""),
        name=decoded.get("name", ""),
        type=decoded.get("type", ""),
        capabilities=decoded.get("capabilities", {}),
    )


# --- loaders -------------------------------------------------------------------------------------


def network_plugin_conf_from_bytes(data: bytes) -> PluginConfig:
    """One plugin object (Go's NetworkPluginConfFromBytes); `type` is required."""
    try:
        network = decode_plugin_conf(_decode_json(data))
    except ConfigError as err:
        raise ConfigError(f"error parsing configuration: {err}") from None
    if network.type == "":
        raise ConfigError("error parsing configuration: missing 'type'")
    return PluginConfig(network=network, bytes=bytes(data))


# The legacy names (Go keeps them as deprecated aliases).
conf_from_bytes = network_plugin_conf_from_bytes


def conf_from_file(filename: str) -> PluginConfig:
    return conf_from_bytes(_read(filename))


def _read(filename: str) -> bytes:
    try:
        with open(filename, "rb") as f:
            return f.read()
    except OSError as err:
        raise ConfigError(f"error reading {filename}: {os_error_text('open', filename, err)}") from None


def _go_ext(name: str) -> str:
    """filepath.Ext: from the last dot of the name (".conf" alone counts as extension .conf)."""
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def conf_files(directory: str, extensions: list[str]) -> list[str]:
    """Files (not directories) in `directory` whose extension is one of `extensions`, in name
    order; a missing directory gives no files and no error."""
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
    except FileNotFoundError:
        return []
    except OSError as err:
        raise ConfigError(os_error_text("open", directory, err)) from None
    found = []
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            pass
        if _go_ext(entry.name) in extensions:
            found.append(os.path.join(directory, entry.name))
    return found


def network_plugin_confs_from_files(conf_dir: str, network_name: str) -> list[PluginConfig]:
    """Plugin objects from `<conf_dir>/<network_name>/*.conf`, name-sorted, each needing `type`."""
    plugin_dir = os.path.join(conf_dir, network_name)
    try:
        files = conf_files(plugin_dir, [".conf"])
    except ConfigError as err:
        raise ConfigError(f"failed to read plugin config files in {plugin_dir}: {err}") from None
    return [network_plugin_conf_from_bytes(_read(path)) for path in files]


def _read_bool(raw: dict, key: str) -> bool:
    """disableCheck & co.: a JSON bool or the strings "true"/"false" in any case."""
    if key not in raw:
        return False
    value = raw[key]
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        gotype = "<nil>" if value is None else _go_type_name(value)
        raise ConfigError(f"error parsing configuration list: invalid type {gotype} for {key}")
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ConfigError(f"error parsing configuration list: invalid value {json.dumps(lowered)} for {key}")


def _go_type_name(value: Any) -> str:
    """%T of a decoded interface{} value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _greater_than(version: str, other: str) -> bool:
    try:
        return parse_version(version) > parse_version(other)
    except CNIError as err:
        raise ValueError(str(err)) from None


def select_cni_version(cni_version: str, cni_versions: Any) -> str:
    """The version a list runs at: the highest of cniVersion and cniVersions not above the one
    we implement (Go drops higher ones; with nothing left the original cniVersion stays)."""
    if not isinstance(cni_versions, list):
        # Go prints the type of its failed type assertion's result, always "[]interface {}".
        raise ConfigError("error parsing configuration list: invalid type for cniVersions: []interface {}")
    candidates: list[str] = []
    for index, entry in enumerate(cni_versions):
        if not isinstance(entry, str):
            raise ConfigError(
                "error parsing configuration list: invalid type for cniVersions index "
                f"{index}: {_go_type_name(entry)}"
            )
        try:
            too_new = _greater_than(entry, CURRENT)
        except ValueError as err:
            raise ConfigError(
                f"error parsing configuration list: invalid cniVersions entry {entry} at index {index}: {err}"
            ) from None
        if not too_new:
            candidates.append(entry)
    if cni_version != "":
        try:
            too_new = _greater_than(cni_version, CURRENT)
        except ValueError as err:
            raise ConfigError(
                f"error parsing configuration list: invalid cniVersion {cni_version}: {err}"
            ) from None
        if not too_new:
            candidates.append(cni_version)
    if not candidates:
        return cni_version
    return max(candidates, key=parse_version)


def network_conf_from_bytes(data: bytes) -> NetworkConfigList:
    """A conflist from bytes (Go's NetworkConfFromBytes / ConfListFromBytes); no subdir plugins."""
    try:
        raw = gojson.loads(data)
    except json.JSONDecodeError as err:
        raise ConfigError(f"error parsing configuration list: {json_error_text(err)}") from None
    except ValueError as err:
        raise ConfigError(f"error parsing configuration list: {err}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            "error parsing configuration list: json: cannot unmarshal "
            f"{_go_json_kind(raw)} into Go value of type map[string]interface {{}}"
        )
    if "name" not in raw:
        raise ConfigError("error parsing configuration list: no name")
    name = raw["name"]
    if not isinstance(name, str):
        raise ConfigError(f"error parsing configuration list: invalid name type {_go_type_name(name)}")
    cni_version = ""
    if "cniVersion" in raw:
        cni_version = raw["cniVersion"]
        if not isinstance(cni_version, str):
            raise ConfigError(
                f"error parsing configuration list: invalid cniVersion type {_go_type_name(cni_version)}"
            )
    if "cniVersions" in raw:
        cni_version = select_cni_version(cni_version, raw["cniVersions"])

    conf_list = NetworkConfigList(
        name=name,
        cni_version=cni_version,
        disable_check=_read_bool(raw, "disableCheck"),
        disable_gc=_read_bool(raw, "disableGC"),
        load_only_inlined_plugins=_read_bool(raw, "loadOnlyInlinedPlugins"),
        bytes=bytes(data),
    )
    if "plugins" not in raw:
        if conf_list.load_only_inlined_plugins:
            raise ConfigError(
                "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key"
            )
        return conf_list
    plugins = raw["plugins"]
    if not isinstance(plugins, list):
        raise ConfigError(
            f"error parsing configuration list: invalid 'plugins' type {_go_type_name(plugins)}"
        )
    if not plugins:
        raise ConfigError("error parsing configuration list: no plugins in list")
    for index, plugin in enumerate(plugins):
        try:
            conf_list.plugins.append(network_plugin_conf_from_bytes(gojson.dumps(plugin)))
        except ConfigError as err:
            raise ConfigError(f"failed to parse plugin config {index}: {err}") from None
    return conf_list


conf_list_from_bytes = network_conf_from_bytes


def network_conf_from_file(filename: str) -> NetworkConfigList:
    """A conflist file plus, unless loadOnlyInlinedPlugins, the plugin objects in the sibling
    directory named after the network."""
    conf_list = network_conf_from_bytes(_read(filename))
    if not conf_list.load_only_inlined_plugins:
        conf_list.plugins.extend(network_plugin_confs_from_files(os.path.dirname(filename), conf_list.name))
    if not conf_list.plugins:
        raise ConfigError("no plugin configs found")
    return conf_list


conf_list_from_file = network_conf_from_file


def load_conf(directory: str, name: str) -> PluginConfig:
    """Legacy: the first `.conf`/`.json` single-plugin config named `name`."""
    files = conf_files(directory, [".conf", ".json"])
    if not files:
        raise NoConfigsFoundError(directory)
    for path in sorted(files, key=os.fsencode):
        conf = conf_from_file(path)
        if conf.network.name == name:
            return conf
    raise NotFoundError(directory, name)


def load_network_conf(directory: str, name: str) -> NetworkConfigList:
    """The first `.conflist` (name order) whose name matches; else a legacy single config,
    up-converted. Any file that fails to load stops the search with its error."""
    files = conf_files(directory, [".conflist"])
    for path in files:
        conf_list = network_conf_from_file(path)
        if conf_list.name == name:
            return conf_list
    try:
        single = load_conf(directory, name)
    except NoConfigsFoundError:
        if files:
            raise NotFoundError(directory, name) from None
        raise
    return conf_list_from_conf(single)


load_conf_list = load_network_conf


def conf_list_from_conf(original: PluginConfig) -> NetworkConfigList:
    """Wrap a single plugin config into a one-plugin list (Go's ConfListFromConf)."""
    raw = _decode_json(original.bytes)
    wrapped = {"name": original.network.name, "cniVersion": original.network.cni_version, "plugins": [raw]}
    return network_conf_from_bytes(gojson.dumps(wrapped))


def inject_conf(original: PluginConfig, new_values: dict[str, Any]) -> PluginConfig:
    """Set top-level keys in a plugin object (Go's InjectConf): re-encoded with Go's bytes."""
    try:
        config = gojson.loads(original.bytes)
    except ValueError as err:
        raise ConfigError(f"unmarshal existing network bytes: {err}") from None
    if not isinstance(config, dict):
        config = {}
    for key, value in new_values.items():
        if key == "":
            raise ConfigError("keys cannot be empty")
        if value is None:
            raise ConfigError(f"key '{key}' value must not be nil")
        config[key] = value
    return network_plugin_conf_from_bytes(gojson.dumps(config))


def list_network_confs(directory: str) -> list[tuple[str, NetworkConfigList | ConfigError]]:
    """Every `.conf`, `.conflist` and `.json` file in name order with its network list (single
    configs up-converted) or the error loading it: what runtimes such as containerd scan."""
    found: list[tuple[str, NetworkConfigList | ConfigError]] = []
    for path in conf_files(directory, [".conf", ".conflist", ".json"]):
        try:
            if path.endswith(".conflist"):
                found.append((path, network_conf_from_file(path)))
            else:
                found.append((path, conf_list_from_conf(conf_from_file(path))))
        except ConfigError as err:
            found.append((path, err))
    return found


def load_default_network(directory: str) -> NetworkConfigList:
    """The first file in name order that loads (the runtime convention for a default network)."""
    for _, loaded in list_network_confs(directory):
        if isinstance(loaded, NetworkConfigList):
            return loaded
    raise NoConfigsFoundError(directory)
