"""The runtime side of CNI: run a network list's plugins the way Go's libcni (api.go) does.

`CNIConfig` mirrors Go's CNIConfig: ADD runs the plugins in order chaining prevResult and
caches the final result; CHECK runs them in order with the cached result; DEL runs them in
reverse with the cached result and drops the cache; GC deletes stale cached attachments and
sends GC to every plugin; STATUS asks every plugin. Requests, cache files and error texts are
Go's. Additions: an optional per-plugin timeout (a hung plugin is killed, its process group
with it, and reported as code 11 with its stderr) and an explicit cache directory.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import cache, gojson
from .conf import ConfigError, NetworkConfigList, PluginConf, PluginConfig, inject_conf
from .invoke import exec_plugin, find_in_path
from .types.errors import CNIError, ErrCode
from .types.version import CURRENT, DEFAULT, FAMILY_100, family_of, parse_version
from .validate import validate_container_id, validate_ifname, validate_network_name

if TYPE_CHECKING:
    from .types.results import AnyResult

CACHE_DIR = cache.CACHE_DIR


@dataclass
class RuntimeConf:
    """The arguments of one attachment (Go's RuntimeConf)."""

    container_id: str = ""
    netns: str = ""
    ifname: str = ""
    args: list[tuple[str, str]] = field(default_factory=list)
    # Capability args; only those a plugin declares in `capabilities` reach its runtimeConfig.
    capability_args: dict[str, Any] = field(default_factory=dict)
    cache_dir: str = ""  # deprecated in Go; CNIConfig's cache_dir wins


@dataclass(frozen=True)
class GCAttachment:
    container_id: str
    ifname: str


@dataclass
class GCArgs:
    valid_attachments: list[GCAttachment] = field(default_factory=list)


NetworkAttachment = cache.CachedAttachment


@dataclass
class PluginInfo:
    cni_version: str
    supported_versions: list[str]


class NetworkError(Exception):
    """An operation on a network failed. The plugin's own CNI error, if any, is the cause
    (see `cni_error_of`), like Go's %w wrapping."""


def cni_error_of(err: BaseException | None) -> CNIError | None:
    """The CNIError inside a wrapped error chain (Go's errors.As), or None."""
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, CNIError):
            return err
        err = err.__cause__
        seen += 1
    return None


def go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def plugin_description(net: PluginConf) -> str:
    out = f"type={go_quote(net.type)}"
    if net.name:
        out += f" name={go_quote(net.name)}"
    return out


def args_string(pairs: list[tuple[str, str]] | None) -> str:
    """CNI_ARGS as libcni writes it: k=v joined by ';', nothing escaped."""
    return ";".join(f"{k}={v}" for k, v in pairs or [])


def _at_least(version: str, minimum: str) -> bool:
    """version.GreaterThanOrEqualTo; an unparsable version raises."""
    return parse_version(version) >= parse_version(minimum)


# --- results as Go writes them -------------------------------------------------------------------


def result_json_value(result: AnyResult) -> Any:
    """The value json.Marshal(result) produces: 1.x results go through a map (sorted keys,
    empty dns dropped), older ones keep their struct field order."""
    value = result.to_json_dict()
    if family_of(result.cniVersion) is FAMILY_100:
        return value
    return _as_struct(value)


def _as_struct(value: Any) -> Any:
    if isinstance(value, dict):
        return gojson.Struct((k, _as_struct(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_as_struct(v) for v in value]
    return value


def result_bytes(result: AnyResult, indent: str | None = None) -> bytes:
    """The result as Go prints it (`indent="    "`: cnitool's output) or sends it."""
    return gojson.dumps(result_json_value(result), indent=indent)


def parse_plugin_result(netconf: bytes, stdout: bytes) -> AnyResult:
    """An ADD result the way invoke.ExecPluginWithResult reads it: a result without a
    cniVersion is taken to be in the config's version (cni#895)."""
    from .conf import json_error_text
    from .types.results import parse_result

    try:
        conf_version = json.loads(netconf).get("cniVersion") or DEFAULT
    except (ValueError, AttributeError):
        conf_version = DEFAULT
    try:
        raw = gojson.loads(stdout, go_numbers=False)
    except json.JSONDecodeError as err:
        raise CNIError(
            ErrCode.DECODING_FAILURE, f"failed to unmarshal raw result: {json_error_text(err)}"
        ) from None
    except ValueError as err:
        raise CNIError(ErrCode.DECODING_FAILURE, f"failed to unmarshal raw result: {err}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CNIError(
            ErrCode.DECODING_FAILURE,
            "failed to unmarshal raw result: json: cannot unmarshal "
            "into Go value of type map[string]interface {}",
        )
    version = raw.get("cniVersion")
    if not isinstance(version, str) or version == "":
        raw["cniVersion"] = conf_version
    return parse_result(raw)


def _decode_cached_result(data: dict | bytes, cni_version: str) -> AnyResult:
    from .types.results import convert, parse_result

    if isinstance(data, bytes):
        try:
            data = json.loads(data)
        except ValueError as err:
            raise CachedResultError(f"decoding version from network config: {err}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise CachedResultError("decoding version from network config: not a JSON object")
    result = parse_result(data)
    try:
        return convert(result, cni_version)
    except CNIError as err:
        raise CachedResultError(
            f"failed to convert cached result to config version {go_quote(cni_version)}: {err}"
        ) from err


class CachedResultError(Exception):
    """A cached result that cannot be used (corrupt, or not convertible to the list version)."""


# --- the runtime ---------------------------------------------------------------------------------


class CNIConfig:
    """Finds and runs plugins for network lists (Go's libcni.CNIConfig).

    `path`: plugin directories (CNI_PATH). `cache_dir`: where results/ lives (default
    /var/lib/cni). `env`: the environment plugins inherit (default os.environ). `timeout`:
    seconds one plugin may run before it is killed (None: no limit, as Go). `stderr`: where a
    successful plugin's stderr goes (default our stderr)."""

    def __init__(
        self,
        path: list[str],
        cache_dir: str = "",
        *,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        stderr: Callable[[bytes], None] | None = None,
    ) -> None:
        self.path = list(path)
        self.cache_dir = cache_dir
        self.env = env
        self.timeout = timeout
        self.stderr = stderr or _write_stderr

    # -- plumbing --

    def _cache_dir(self, rt: RuntimeConf | None = None) -> str:
        if self.cache_dir:
            return self.cache_dir
        if rt is not None and rt.cache_dir:
            return rt.cache_dir
        return CACHE_DIR

    def _cache_path(self, network: str, rt: RuntimeConf) -> str:
        return cache.cache_file_path(self._cache_dir(rt), network, rt.container_id, rt.ifname)

    def _env(self, command: str, rt: RuntimeConf) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        env.update(
            CNI_COMMAND=command,
            CNI_CONTAINERID=rt.container_id,
            CNI_NETNS=rt.netns,
            CNI_ARGS=args_string(rt.args),
            CNI_IFNAME=rt.ifname,
            CNI_PATH=os.pathsep.join(self.path),
        )
        return env

    def _run(self, plugin_type: str, stdin: bytes, command: str, rt: RuntimeConf) -> bytes:
        path = find_in_path(plugin_type, self.path)
        return exec_plugin(path, stdin, self._env(command, rt), timeout=self.timeout, stderr_sink=self.stderr)

    def build_config(
        self,
        name: str,
        cni_version: str,
        plugin: PluginConfig,
        prev_result: AnyResult | None,
        rt: RuntimeConf | None,
    ) -> PluginConfig:
        """The request a plugin gets on stdin: its object with name, cniVersion, prevResult and
        (for declared capabilities only) runtimeConfig set (Go's buildOneConfig)."""
        inject: dict[str, Any] = {"name": name, "cniVersion": cni_version}
        if prev_result is not None:
            inject["prevResult"] = gojson.Raw(result_bytes(prev_result))
        conf = inject_conf(plugin, inject)
        if rt is None:
            return conf
        runtime_config = {
            capability: rt.capability_args[capability]
            for capability, enabled in conf.network.capabilities.items()
            if enabled and capability in rt.capability_args
        }
        if runtime_config:
            conf = inject_conf(conf, {"runtimeConfig": runtime_config})
        return conf

    # -- the cache --

    def _cache_add(self, result: AnyResult | None, config: bytes, network: str, rt: RuntimeConf) -> None:
        data = cache.encode_cache(
            container_id=rt.container_id,
            config=config,
            ifname=rt.ifname,
            network=network,
            netns=rt.netns,
            cni_args=rt.args,
            capability_args=rt.capability_args,
            result=None if result is None else result.to_json_dict(),
        )
        cache.write_cache_file(self._cache_path(network, rt), data)

    def _cache_del(self, network: str, rt: RuntimeConf) -> None:
        try:
            cache.remove_cache_file(self._cache_path(network, rt))
        except (cache.CacheError, OSError):
            pass

    def _cached_result(self, network: str, cni_version: str, rt: RuntimeConf) -> AnyResult | None:
        data = cache.read_file(self._cache_path(network, rt))
        if data is None:
            return None
        try:
            info = cache.decode_cache(data)
        except cache.CacheError:
            info = None
        if info is None or info.kind != cache.CACHE_KIND:
            return _decode_cached_result(data, cni_version)  # a legacy file: a bare result
        return _decode_cached_result(info.result or {}, cni_version)

    def _cached_config(self, network: str, rt: RuntimeConf) -> tuple[bytes | None, RuntimeConf | None]:
        data = cache.read_file(self._cache_path(network, rt))
        if data is None:
            return None, None
        try:
            info = cache.decode_cache(data)
        except cache.CacheError as err:
            raise NetworkError(
                f"failed to unmarshal cached network {go_quote(network)} config: {err}"
            ) from None
        if info.kind != cache.CACHE_KIND:
            raise NetworkError(f"read cached network {go_quote(network)} config has wrong kind: {info.kind}")
        new_rt = replace(rt)
        if info.cni_args is not None:
            new_rt.args = list(info.cni_args)
        new_rt.capability_args = dict(info.capability_args or {})
        return info.config, new_rt

    def get_network_list_cached_result(
        self, conf_list: NetworkConfigList, rt: RuntimeConf
    ) -> AnyResult | None:
        """The cached ADD result, converted to the list's version (None if nothing is cached)."""
        try:
            return self._cached_result(conf_list.name, conf_list.cni_version, rt)
        except (CachedResultError, CNIError, cache.CacheError) as err:
            raise NetworkError(str(err)) from err

    def get_network_cached_result(self, net: PluginConfig, rt: RuntimeConf) -> AnyResult | None:
        try:
            return self._cached_result(net.network.name, net.network.cni_version, rt)
        except (CachedResultError, CNIError, cache.CacheError) as err:
            raise NetworkError(str(err)) from err

    def get_network_list_cached_config(
        self, conf_list: NetworkConfigList, rt: RuntimeConf
    ) -> tuple[bytes | None, RuntimeConf | None]:
        """The cached config bytes and `rt` with the cached CNI args and capability args."""
        return self._cached_config(conf_list.name, rt)

    def get_network_cached_config(
        self, net: PluginConfig, rt: RuntimeConf
    ) -> tuple[bytes | None, RuntimeConf | None]:
        return self._cached_config(net.network.name, rt)

    def get_cached_attachments(self, container_id: str = "") -> list[NetworkAttachment]:
        return cache.cached_attachments(self._cache_dir(), container_id)

    # -- ADD --

    def _add_network(
        self, name: str, cni_version: str, net: PluginConfig, prev: AnyResult | None, rt: RuntimeConf
    ) -> AnyResult:
        path = find_in_path(net.network.type, self.path)
        validate_container_id(rt.container_id)
        validate_network_name(name)
        validate_ifname(rt.ifname)
        conf = self.build_config(name, cni_version, net, prev, rt)
        stdout = exec_plugin(
            path, conf.bytes, self._env("ADD", rt), timeout=self.timeout, stderr_sink=self.stderr
        )
        return parse_plugin_result(conf.bytes, stdout)

    def add_network_list(self, conf_list: NetworkConfigList, rt: RuntimeConf) -> AnyResult | None:
        """Run ADD on every plugin in order, each getting the previous result; cache the last.
        A failure stops the chain (no rollback: the caller must DEL, as with Go)."""
        result = None
        for net in conf_list.plugins:
            try:
                result = self._add_network(conf_list.name, conf_list.cni_version, net, result, rt)
            except (CNIError, ConfigError) as err:
                raise NetworkError(f"plugin {plugin_description(net.network)} failed (add): {err}") from err
        try:
            self._cache_add(result, conf_list.bytes, conf_list.name, rt)
        except (cache.CacheError, OSError) as err:
            raise NetworkError(
                f"failed to set network {go_quote(conf_list.name)} cached result: {err}"
            ) from err
        return result

    def add_network(self, net: PluginConfig, rt: RuntimeConf) -> AnyResult:
        try:
            result = self._add_network(net.network.name, net.network.cni_version, net, None, rt)
        except ConfigError as err:
            raise NetworkError(str(err)) from err
        try:
            self._cache_add(result, net.bytes, net.network.name, rt)
        except (cache.CacheError, OSError) as err:
            raise NetworkError(
                f"failed to set network {go_quote(net.network.name)} cached result: {err}"
            ) from err
        return result

    # -- CHECK --

    def _check_network(
        self, name: str, cni_version: str, net: PluginConfig, prev: AnyResult | None, rt: RuntimeConf
    ) -> None:
        conf = self.build_config(name, cni_version, net, prev, rt)
        self._run(net.network.type, conf.bytes, "CHECK", rt)

    def _require_check(self, cni_version: str) -> None:
        if not _at_least(cni_version, "0.4.0"):
            raise NetworkError(
                f"configuration version {go_quote(cni_version)} does not support the CHECK command"
            )

    def check_network_list(self, conf_list: NetworkConfigList, rt: RuntimeConf) -> None:
        """Run CHECK on every plugin in order with the cached result; the first plugin error
        is raised as is (a CNIError)."""
        self._require_check(conf_list.cni_version)
        if conf_list.disable_check:
            return
        prev = self._cached_for_check(conf_list.name, conf_list.cni_version, rt)
        for net in conf_list.plugins:
            self._check_network(conf_list.name, conf_list.cni_version, net, prev, rt)

    def check_network(self, net: PluginConfig, rt: RuntimeConf) -> None:
        self._require_check(net.network.cni_version)
        prev = self._cached_for_check(net.network.name, net.network.cni_version, rt)
        self._check_network(net.network.name, net.network.cni_version, net, prev, rt)

    def _cached_for_check(self, name: str, cni_version: str, rt: RuntimeConf) -> AnyResult | None:
        try:
            return self._cached_result(name, cni_version, rt)
        except (CachedResultError, CNIError, cache.CacheError) as err:
            raise NetworkError(f"failed to get network {go_quote(name)} cached result: {err}") from err

    # -- DEL --

    def _cached_for_del(self, name: str, cni_version: str, rt: RuntimeConf) -> AnyResult | None:
        """The cached result as DEL's prevResult; an unusable cache is dropped (PR #1072)."""
        if not _at_least(cni_version, "0.4.0"):
            return None
        try:
            return self._cached_result(name, cni_version, rt)
        except (CachedResultError, CNIError, cache.CacheError):
            self._cache_del(name, rt)
            return None

    def del_network_list(self, conf_list: NetworkConfigList, rt: RuntimeConf) -> None:
        """Run DEL on every plugin in reverse order with the cached result; drop the cache on
        success (a failure keeps it for the retry)."""
        prev = self._cached_for_del(conf_list.name, conf_list.cni_version, rt)
        for net in reversed(conf_list.plugins):
            try:
                conf = self.build_config(conf_list.name, conf_list.cni_version, net, prev, rt)
                self._run(net.network.type, conf.bytes, "DEL", rt)
            except (CNIError, ConfigError) as err:
                raise NetworkError(
                    f"plugin {plugin_description(net.network)} failed (delete): {err}"
                ) from err
        self._cache_del(conf_list.name, rt)

    def del_network(self, net: PluginConfig, rt: RuntimeConf) -> None:
        prev = self._cached_for_del(net.network.name, net.network.cni_version, rt)
        conf = self.build_config(net.network.name, net.network.cni_version, net, prev, rt)
        self._run(net.network.type, conf.bytes, "DEL", rt)
        self._cache_del(net.network.name, rt)

    # -- VERSION and validation --

    def get_version_info(self, plugin_type: str) -> PluginInfo:
        """The plugin's VERSION answer (a plugin that does not know VERSION supports 0.1.0)."""
        path = find_in_path(plugin_type, self.path)
        rt = RuntimeConf(netns="dummy", ifname="dummy")
        env = self._env("VERSION", rt)
        env["CNI_PATH"] = "dummy"  # fake values for plugins built on an old skel
        stdin = f'{{"cniVersion":"{CURRENT}"}}'.encode()
        try:
            stdout = exec_plugin(path, stdin, env, timeout=self.timeout, stderr_sink=self.stderr)
        except CNIError as err:
            if str(err) == "unknown CNI_COMMAND: VERSION":
                return PluginInfo(CURRENT, ["0.1.0"])
            raise
        return decode_plugin_info(stdout)

    def _validate_plugin(self, plugin_type: str, expected: str) -> None:
        expected = expected or DEFAULT
        info = self.get_version_info(plugin_type)
        if expected not in info.supported_versions:
            raise NetworkError(f"plugin {plugin_type} does not support config version {go_quote(expected)}")

    def validate_network_list(self, conf_list: NetworkConfigList) -> list[str]:
        """Every plugin must exist and support the list's version exactly; returns the
        capabilities some plugin declares (sorted). All failures are reported together."""
        errors: list[str] = []
        caps: set[str] = set()
        for net in conf_list.plugins:
            try:
                self._validate_plugin(net.network.type, conf_list.cni_version)
            except (CNIError, NetworkError) as err:
                errors.append(str(err))
            caps.update(c for c, enabled in net.network.capabilities.items() if enabled)
        if errors:
            raise NetworkError("[" + " ".join(errors) + "]")
        return sorted(caps)

    def validate_network(self, net: PluginConfig) -> list[str]:
        try:
            self._validate_plugin(net.network.type, net.network.cni_version)
        except CNIError as err:
            raise NetworkError(str(err)) from err
        return sorted(c for c, enabled in net.network.capabilities.items() if enabled)

    # -- GC and STATUS --

    def gc_network_list(self, conf_list: NetworkConfigList, args: GCArgs | None) -> None:
        """DEL every cached attachment of this network that `args` does not list as valid
        (`args=None`: every one, as Go does), then send GC to every plugin (spec >= 1.1.0)."""
        if conf_list.disable_gc:
            return
        try:
            attachments = self.get_cached_attachments("")
        except cache.CacheError:
            return
        valid = None if args is None else {(a.container_id, a.ifname) for a in args.valid_attachments}
        errors: list[str] = []
        for att in attachments:
            if att.network != conf_list.name:
                continue
            if valid is not None and (att.container_id, att.ifname) in valid:
                continue
            rt = RuntimeConf(
                container_id=att.container_id,
                netns=att.netns,
                ifname=att.ifname,
                args=list(att.cni_args or []),
                capability_args=dict(att.capability_args or {}),
            )
            try:
                self.del_network_list(conf_list, rt)
            except (NetworkError, CNIError, ConfigError) as err:
                errors.append(f"failed to delete stale attachment {rt.container_id} {rt.ifname}: {err}")

        if _version_at_least_quiet(conf_list.cni_version, "1.1.0"):
            inject: dict[str, Any] = {"name": conf_list.name, "cniVersion": conf_list.cni_version}
            if args is not None:
                listed = [
                    gojson.Struct(containerID=a.container_id, ifname=a.ifname) for a in args.valid_attachments
                ]
                inject["cni.dev/valid-attachments"] = listed
                inject["cni.dev/attachments"] = listed  # the pre-rename key (cni#1101)
            for plugin in conf_list.plugins:
                try:
                    conf = inject_conf(plugin, inject)
                except ConfigError as err:
                    errors.append(
                        f"failed to generate configuration to GC plugin {plugin.network.type}: {err}"
                    )
                    continue
                try:
                    self._run(conf.network.type, conf.bytes, "GC", RuntimeConf())
                except CNIError as err:
                    errors.append(f"failed to GC plugin {plugin.network.type}: {err}")
        if errors:
            raise NetworkError("\n".join(errors))

    def get_status_network_list(self, conf_list: NetworkConfigList) -> None:
        """STATUS of every plugin in order (spec >= 1.1.0; older lists are always fine); the
        first failure is raised as the plugin's CNIError (codes 50/51 stay readable)."""
        if not _version_at_least_quiet(conf_list.cni_version, "1.1.0"):
            return
        inject = {"name": conf_list.name, "cniVersion": conf_list.cni_version}
        for plugin in conf_list.plugins:
            try:
                conf = inject_conf(plugin, inject)
            except ConfigError as err:
                raise NetworkError(
                    f"failed to generate configuration to get plugin STATUS {plugin.network.type}: {err}"
                ) from err
            self._run(conf.network.type, conf.bytes, "STATUS", RuntimeConf())


def _version_at_least_quiet(version: str, minimum: str) -> bool:
    try:
        return _at_least(version, minimum)
    except CNIError:
        return False


def decode_plugin_info(stdout: bytes) -> PluginInfo:
    """A VERSION answer (Go's PluginDecoder): cniVersion required; no supportedVersions is
    accepted only from a 0.2.0 plugin (meaning 0.1.0 and 0.2.0)."""
    try:
        raw = json.loads(stdout)
    except ValueError as err:
        raise NetworkError(f"decoding version info: {err}") from None
    if not isinstance(raw, dict):
        raise NetworkError("decoding version info: not a JSON object")
    cni_version = raw.get("cniVersion") or ""
    supported = raw.get("supportedVersions") or []
    if not isinstance(cni_version, str) or not isinstance(supported, list):
        raise NetworkError("decoding version info: wrong field types")
    if cni_version == "":
        raise NetworkError("decoding version info: missing field cniVersion")
    if not supported:
        if cni_version == "0.2.0":
            return PluginInfo(cni_version, ["0.1.0", "0.2.0"])
        raise NetworkError("decoding version info: missing field supportedVersions")
    return PluginInfo(cni_version, [str(v) for v in supported])


def _write_stderr(data: bytes) -> None:
    try:
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()
    except (OSError, ValueError, AttributeError):
        pass
