"""The catalogue's vocabulary: scenarios, the steps they run and what each step must produce.

A scenario is plain data. Strings may hold placeholders that the engine fills in per run
(`{net}`, `{cid}`, `{netns}`, `{host_netns}`, `{version}` ...; see `engine.Names`), and any
value may be a `Ref` to a field of an earlier step's output. Checks (conformance.checks) are
small frozen dataclasses too, so a whole scenario can be printed, compared and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERSIONS_ALL: tuple[str, ...] = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
VERSIONS_040_UP: tuple[str, ...] = ("0.4.0", "1.0.0", "1.1.0")
KNOWN_VERSIONS = frozenset(VERSIONS_ALL)
DEFAULT_VERSIONS: tuple[str, ...] = ("1.0.0",)

# A config key set to OMIT is removed before the config is sent (e.g. to drop cniVersion).
OMIT = object()


@dataclass(frozen=True)
class Ref:
    """A value taken from an earlier step's JSON output: Ref("add", "interfaces.1.name")."""

    step: str
    path: str

    def __str__(self) -> str:
        return f"<{self.step}:{self.path}>"


class Check:
    """Base of every expectation; subclasses implement `evaluate(ctx, outcome) -> list[str]`."""

    def evaluate(self, ctx: Any, outcome: Any) -> list[str]:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class Expect:
    """What one plugin call must do.

    ok: exit status 0 (True), non-zero (False) or either (None).
    code / msg: the error object's code and a substring of its `msg` (only for failures).
    output: "result" (a result JSON), "empty" (nothing on stdout), "error" or None (any).
    result: checks on the parsed stdout. state: checks on kernel and disk after the call.
    """

    ok: bool | None = True
    code: int | None = None
    msg: str | None = None
    output: str | None = None
    result: tuple[Check, ...] = ()
    state: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Deviation:
    """A known, documented departure of an implementation (see conformance.deviations).

    When the main expectation fails but this one holds, the step is reported as a deviation
    with this id instead of a failure.
    """

    id: str
    expect: Expect


class Step:
    """Base of everything a scenario does in order."""

    label: str = ""


@dataclass(frozen=True)
class Invoke(Step):
    """Execute one plugin from the directory under test, as a runtime would.

    container: which container (1..3) supplies the default CNI_CONTAINERID / CNI_NETNS.
    netns / cid / ifname: override the defaults ("" sends an empty value; see `unset`).
    prev: label of an earlier step whose output becomes `prevResult`, or a result dict in the
    1.x shape that is converted to the case's cniVersion first.
    stdin: raw bytes/str sent instead of the JSON-encoded `config`.
    alternatives: other outcomes the spec equally allows (they count as a pass).
    """

    verb: str
    config: dict | None = None
    plugin: str | None = None
    label: str = ""
    container: int = 1
    ifname: str | None = None
    netns: str | None = None
    cid: str | None = None
    args: str = ""
    env: tuple[tuple[str, str], ...] = ()
    unset: tuple[str, ...] = ()
    prev: str | dict | None = None
    stdin: bytes | str | None = None
    expect: Expect = field(default_factory=Expect)
    alternatives: tuple[Expect, ...] = ()
    deviations: tuple[Deviation, ...] = ()


@dataclass(frozen=True)
class Concurrent(Step):
    """Run several invocations at the same time (the spec allows parallel containers)."""

    invokes: tuple[Invoke, ...]
    label: str = ""
    state: tuple[Check, ...] = ()


@dataclass(frozen=True)
class Run(Step):
    """Run a setup command inside a namespace ("host", "c1", "c2", "c3"); it must succeed."""

    ns: str
    argv: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True)
class WriteFile(Step):
    path: str
    content: str
    mode: int = 0o644
    label: str = ""


@dataclass(frozen=True)
class RemoveFile(Step):
    path: str
    label: str = ""


@dataclass(frozen=True)
class DeleteNetns(Step):
    """Remove a container netns (the runtime tore the container down before DEL)."""

    ns: str
    label: str = ""


@dataclass(frozen=True)
class Verify(Step):
    """Checks on kernel and disk state at this point (after setup commands, for instance)."""

    state: tuple[Check, ...]
    label: str = ""


@dataclass(frozen=True)
class Scenario:
    """One behaviour, run once per applicable cniVersion ("case").

    plugin: the plugin under test (used by --only and the table); needs: other plugins the
    scenario executes from the same directory. claims: a spec version the plugin must list in
    its VERSION reply (feature gate for keys of 1.1-era plugins) besides each case's version.
    requires: environment features ("ipv6", "vlan", "iptables", "nft", "conntrack").
    exclusive: touches a machine-wide file of the private mount namespace; runs alone.
    cleanup: steps that always run at the end (errors ignored), e.g. removing such a file.
    """

    id: str
    plugin: str
    title: str
    steps: tuple[Step, ...]
    versions: tuple[str, ...] = DEFAULT_VERSIONS
    needs: tuple[str, ...] = ()
    claims: str | None = None
    refs: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    containers: int = 1
    exclusive: bool = False
    cleanup: tuple[Step, ...] = ()

    @property
    def plugins(self) -> tuple[str, ...]:
        return (self.plugin, *[p for p in self.needs if p != self.plugin])
