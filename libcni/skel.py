"""The plugin side of the CNI protocol (Go's pkg/skel).

`dispatch` is a pure function of (environment mapping, stdin reader) returning
(stdout, stderr, exit code): no os.environ, no sys.exit, no global state, so it can
run in a long-lived process too. `main` is the only place that touches the real
process. A plugin's verbs live in a module imported only when a verb needs it, so
VERSION and early errors never import pydantic or pyroute2.
"""

from __future__ import annotations

import os
import sys
from collections import namedtuple

from .gojson import Struct, decode_text, dumps, lookup
from .types.errors import CNIError, ErrCode, internal
from .types.version import CURRENT, SUPPORTED_VERSIONS, go_list, greater_or_equal, parse_version
from .validate import validate_container_id, validate_ifname, validate_network_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Mapping
    from types import ModuleType

PACKAGE_VERSION = "0.1.0"  # pyproject.toml's version (tests/unit/test_version.py keeps them equal)
PROJECT = "pycni-plugins"


def build_stamp() -> str:
    """The build this program comes from: `git describe` at build time, written by scripts/build
    into the frozen bundle as the module _cni_build; "source" when running from a checkout."""
    try:
        from _cni_build import BUILD
    except ImportError:
        return "source"
    return str(BUILD)


def version_line(name: str) -> str:
    """`<program> --version`: the program, the project version and the build."""
    return f"{name} ({PROJECT}) v{PACKAGE_VERSION}, build {build_stamp()}"


# Which verbs need which variables (Go skel's reqForCmd); CNI_COMMAND is always needed.
_ENV_VARS: tuple[tuple[str, frozenset[str]], ...] = (
    ("CNI_COMMAND", frozenset()),
    ("CNI_CONTAINERID", frozenset({"ADD", "CHECK", "DEL"})),
    ("CNI_NETNS", frozenset({"ADD", "CHECK"})),
    ("CNI_IFNAME", frozenset({"ADD", "CHECK", "DEL"})),
    ("CNI_ARGS", frozenset()),
    ("CNI_PATH", frozenset({"ADD", "CHECK", "DEL", "GC", "STATUS"})),
)


def import_module(name: str) -> ModuleType:
    """importlib.import_module(name) for an absolute name, without loading the importlib package
    (not frozen, and it pulls in warnings: a cold call needs neither)."""
    __import__(name)
    return sys.modules[name]


_VALIDATORS: dict[str, Callable[[str], None]] = {
    "CNI_CONTAINERID": validate_container_id,
    "CNI_IFNAME": validate_ifname,
}
_HANDLERS = {"ADD": "cmd_add", "DEL": "cmd_del", "CHECK": "cmd_check", "GC": "cmd_gc", "STATUS": "cmd_status"}
# Verbs gated by the config's version: (minimum config version).
_MIN_VERSION = {"CHECK": "0.4.0", "GC": "1.1.0", "STATUS": "1.1.0"}


# Immutable records as named tuples, not dataclasses: `dataclasses` imports `inspect` (~10 ms of
# every cold VERSION call and early error).
_EMPTY_ENV: Mapping[str, str] = {}


class CmdArgs(
    namedtuple(
        "CmdArgs",
        "command container_id netns ifname args path stdin_data netns_override config_version env config",
        defaults=(False, "", _EMPTY_ENV, None),
    )
):
    """What a verb handler receives (Go's skel.CmdArgs): command, container_id, netns, ifname,
    args, path, stdin_data, netns_override, config_version, env (the whole environment), and
    config, stdin already decoded."""

    __slots__ = ()
    command: str
    container_id: str
    netns: str
    ifname: str
    args: str
    path: str
    stdin_data: bytes
    netns_override: bool
    config_version: str
    env: Mapping[str, str]
    config: dict | None  # stdin decoded once by the skeleton (Go's rules); None only in hand-made args

    @property
    def conf(self) -> dict:
        """The decoded config object (decoded from stdin_data when a caller built CmdArgs by hand)."""
        if self.config is not None:
            return self.config
        return _check_config(self.stdin_data)

    def __repr__(self) -> str:  # the environment stays out of logs
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields if name != "env")
        return f"CmdArgs({shown})"


class Plugin(namedtuple("Plugin", "name commands versions about", defaults=(SUPPORTED_VERSIONS, ""))):
    """A plugin: its name, the module holding its verb handlers, and its versions."""

    __slots__ = ()
    name: str
    commands: str
    versions: tuple[str, ...]
    about: str

    @property
    def about_text(self) -> str:
        return self.about or f"CNI {self.name} plugin v{PACKAGE_VERSION} ({PROJECT}, build {build_stamp()})"


# In-process delegation: the process entry (launcher) sets a function that returns our own Plugin
# when the delegate at `path` is a program of this very build, else None. Unset: always exec.
_delegate_resolver: Callable[[str, str], Plugin | None] | None = None


def set_delegate_resolver(resolver: Callable[[str, str], Plugin | None] | None) -> None:
    global _delegate_resolver
    _delegate_resolver = resolver


def delegate_plugin(path: str, plugin_type: str) -> Plugin | None:
    """Our own Plugin to run in-process for the delegate `plugin_type` found at `path`, or None."""
    return _delegate_resolver(path, plugin_type) if _delegate_resolver is not None else None


class Outcome(namedtuple("Outcome", "stdout stderr exit_code", defaults=(b"", b"", 0))):
    """What one call wrote to stdout and stderr, and its exit code."""

    __slots__ = ()
    stdout: bytes
    stderr: bytes
    exit_code: int


def _error(err: CNIError, cni_version: str) -> Outcome:
    return Outcome(stdout=err.to_json(cni_version), exit_code=1)


def _read_env(env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    missing: list[str] = []
    command = env.get("CNI_COMMAND", "")
    for name, needed_by in _ENV_VARS:
        value = env.get(name, "")
        values[name] = value
        required = name == "CNI_COMMAND" or command in needed_by
        if not required:
            continue
        if value == "":
            missing.append(name)
        elif name in _VALIDATORS:
            _VALIDATORS[name](value)
    return values, missing


def _config_version(config: dict) -> str:
    """The config's cniVersion ('' means 0.1.0)."""
    version = lookup(config, "cniVersion") or ""
    if not isinstance(version, str):
        raise CNIError(
            ErrCode.DECODING_FAILURE, "error unmarshall network config: cniVersion is not a string"
        )
    return version or "0.1.0"


def _decode_text(err: BaseException) -> str:
    return "nested too deeply" if isinstance(err, RecursionError) else str(err)


def _check_config(stdin: bytes) -> dict:
    """Go's validateConfig: JSON with a non-empty, well-formed `name`. Returns the decoded config:
    stdin is decoded here, once, with Go's rules (libcni.gojson), and handed to the plugin."""
    try:
        data = decode_text(stdin)
    except (ValueError, RecursionError) as err:
        text = _decode_text(err)
        raise CNIError(ErrCode.DECODING_FAILURE, f"error unmarshall network config: {text}") from None
    if not isinstance(data, dict):
        raise CNIError(ErrCode.DECODING_FAILURE, "error unmarshall network config: not a JSON object")
    name = lookup(data, "name")
    if name is not None and not isinstance(name, str):
        raise CNIError(ErrCode.DECODING_FAILURE, "error unmarshall network config: name is not a string")
    if not name:
        raise CNIError(ErrCode.INVALID_NETWORK_CONFIG, "missing network name")
    validate_network_name(name)
    return data


def _check_version(command: str, config_version: str, versions: tuple[str, ...]) -> None:
    minimum = _MIN_VERSION.get(command)
    if minimum is not None:
        if not greater_or_equal(config_version, minimum):
            raise CNIError(ErrCode.INCOMPATIBLE_CNI_VERSION, f"config version does not allow {command}")
        if not any(greater_or_equal(v, config_version) for v in versions):
            raise CNIError(ErrCode.INCOMPATIBLE_CNI_VERSION, f"plugin version does not allow {command}")
    else:
        parse_version(config_version)
    if config_version not in versions:
        raise CNIError(
            ErrCode.INCOMPATIBLE_CNI_VERSION,
            "incompatible CNI versions",
            f'config is "{config_version}", plugin supports {go_list(versions)}',
        )


def _same_netns(netns: str) -> bool:
    """True when CNI_NETNS is the netns this process runs in (acting would hit the host)."""
    try:
        mine = os.stat("/proc/self/ns/net")
        theirs = os.stat(netns)
    except (OSError, ValueError):  # missing, unreadable, or not a path at all (NUL)
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def _version_reply(versions: tuple[str, ...]) -> Outcome:
    return Outcome(stdout=dumps(Struct(cniVersion=CURRENT, supportedVersions=list(versions))) + b"\n")


def dispatch(plugin: Plugin, env: Mapping[str, str], read_stdin: Callable[[], bytes]) -> Outcome:
    """Run one CNI invocation; never raises."""
    config_version = ""
    try:
        try:
            values, missing = _read_env(env)
        except CNIError as err:
            return _error(err, CURRENT)
        command = values["CNI_COMMAND"]
        if missing:
            if command == "" and plugin.about_text:
                text = f"{plugin.about_text}\nCNI protocol versions supported: {', '.join(plugin.versions)}\n"
                return Outcome(stderr=text.encode())
            absent = CNIError(
                ErrCode.INVALID_ENVIRONMENT_VARIABLES, f"required env variables [{','.join(missing)}] missing"
            )
            return _error(absent, CURRENT)
        if command == "VERSION":
            return _version_reply(plugin.versions)
        try:
            stdin = read_stdin()
        except OSError as err:
            return _error(CNIError(ErrCode.IO_FAILURE, f"error reading from stdin: {err}"), CURRENT)
        config = _check_config(stdin)
        if command not in _HANDLERS:
            raise CNIError(ErrCode.INVALID_ENVIRONMENT_VARIABLES, f"unknown CNI_COMMAND: {command}")
        config_version = _config_version(config)
        _check_version(command, config_version, plugin.versions)
        override = values_override(env)
        if command in ("ADD", "DEL") and not override and _same_netns(values["CNI_NETNS"]):
            raise CNIError(
                ErrCode.INVALID_NETNS, "plugin's netns and netns from CNI_NETNS should not be the same"
            )
        args = CmdArgs(
            command=command,
            container_id=values["CNI_CONTAINERID"],
            netns=values["CNI_NETNS"],
            ifname=values["CNI_IFNAME"],
            args=values["CNI_ARGS"],
            path=values["CNI_PATH"],
            stdin_data=stdin,
            netns_override=override,
            config_version=config_version,
            env=env,
            config=config,
        )
        return _call(plugin, args)
    except CNIError as err:
        return _error(err, config_version if config_version in plugin.versions else CURRENT)
    except Exception as err:  # noqa: BLE001 - nothing untyped may escape as a traceback
        trace = b""
        if env.get("CNI_PY_TRACEBACK"):  # opt-in debugging aid; stdout stays a clean error object
            import traceback

            trace = traceback.format_exc().encode()
        cni_version = config_version if config_version in plugin.versions else CURRENT
        return Outcome(stdout=internal(err).to_json(cni_version), stderr=trace, exit_code=1)


def values_override(env: Mapping[str, str]) -> bool:
    return env.get("CNI_NETNS_OVERRIDE", "").lower() in ("1", "true")


def _call(plugin: Plugin, args: CmdArgs) -> Outcome:
    module = import_module(plugin.commands)
    handler = getattr(module, _HANDLERS[args.command], None)
    if handler is None:
        return Outcome()  # a verb the plugin does not implement succeeds silently, as in Go
    result = handler(args)
    if args.command != "ADD" or result is None:
        return Outcome()
    if isinstance(result, bytes):  # printed by the plugin itself (already in the config's version)
        return Outcome(stdout=result)
    from .types.results import to_json

    return Outcome(stdout=to_json(result, args.config_version))


def write_outcome(outcome: Outcome) -> int:
    """Write an outcome to the real stdout/stderr; a closed pipe is not our problem."""
    for stream, data in ((sys.stdout, outcome.stdout), (sys.stderr, outcome.stderr)):
        if not data:
            continue
        try:
            stream.buffer.write(data)
            stream.buffer.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass
    return outcome.exit_code


def run_call(plugin: Plugin) -> int:
    """One call on this process's real environment, stdin, stdout and stderr; returns the exit code.

    A cold process runs it from `main`; a warm server's worker runs it after taking over the
    caller's stdio, working directory and environment (launcher.warm)."""

    def read_stdin() -> bytes:
        return sys.stdin.buffer.read() if sys.stdin is not None else b""

    code = write_outcome(dispatch(plugin, os.environ, read_stdin))
    try:
        sys.stdout.close()
    except (BrokenPipeError, OSError, ValueError):
        pass
    return code


def main(plugin: Plugin, after: Callable[[], None] | None = None) -> None:
    """Process entry point: real environment and stdin in, exit code out. `after` runs once the
    reply is written (the executables start a warm server there) and cannot change the code."""
    code = run_call(plugin)
    if after is not None:
        try:
            after()
        except Exception:  # noqa: BLE001, S110 - the call's outcome is already written
            pass
    os._exit(code)
