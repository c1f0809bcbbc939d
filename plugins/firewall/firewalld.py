"""The firewalld backend (Go's firewalld.go): each prevResult address (as /32 or /128) becomes a
source of a firewalld zone (`firewalldZone`, default trusted) over the system bus.

Differences from Go, on purpose: CHECK also fails when firewalld answers that the address is not
in the zone (Go only fails when the call itself fails); DEL without a reachable firewalld succeeds
(its runtime sources went with it) where Go fails to dial the bus.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from libcni.types.errors import CNIError, ErrCode

from .config import FirewallConfig
from .dbus import BUS_NAME, BUS_PATH, Connection, DBusError

FIREWALLD_NAME = "org.fedoraproject.FirewallD1"
FIREWALLD_PATH = "/org/fedoraproject/FirewallD1"
ZONE_INTERFACE = "org.fedoraproject.FirewallD1.zone"
ZONE_ALREADY_SET = "ZONE_ALREADY_SET"


def running(env: Mapping[str, str]) -> bool:
    """Go's isFirewalldRunning: the system bus answers GetNameOwner for firewalld's name."""
    try:
        with Connection.system(env) as conn:
            conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "GetNameOwner", FIREWALLD_NAME)
    except DBusError:
        return False
    return True


def _connect(env: Mapping[str, str]) -> Connection:
    try:
        return Connection.system(env)
    except DBusError as err:
        raise CNIError(ErrCode.INTERNAL, err.message) from None


def _zone_call(conn: Connection, method: str, zone: str, source: str):
    return conn.call(FIREWALLD_NAME, FIREWALLD_PATH, ZONE_INTERFACE, method, zone, source)


class Backend:
    """The firewalld backend for one call; `env` is the caller's environment (the bus address)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def add(self, conf: FirewallConfig) -> None:
        add(conf, self.env)

    def delete(self, conf: FirewallConfig) -> None:
        delete(conf, self.env)

    def check(self, conf: FirewallConfig) -> None:
        check(conf, self.env)


def add(conf: FirewallConfig, env: Mapping[str, str]) -> None:
    if not conf.addresses:
        return
    with _connect(env) as conn:
        for address in conf.addresses:
            try:
                _zone_call(conn, "addSource", conf.zone, address.host)
            except DBusError as err:
                if ZONE_ALREADY_SET not in err.message:
                    raise CNIError(
                        ErrCode.INTERNAL,
                        f"failed to add the address {address.host} to {conf.zone} zone: {err.message}",
                    ) from None


def delete(conf: FirewallConfig, env: Mapping[str, str]) -> None:
    if not conf.addresses:
        return
    try:
        conn = Connection.system(env)
    except DBusError as err:
        sys.stderr.write(f"firewall: firewalld not reachable, nothing to remove: {err.message}\n")
        return
    with conn:
        for address in conf.addresses:
            try:
                _zone_call(conn, "removeSource", conf.zone, address.host)
            except DBusError:
                pass  # as in Go: already gone, or bound to another zone


def check(conf: FirewallConfig, env: Mapping[str, str]) -> None:
    if not conf.addresses:
        return
    with _connect(env) as conn:
        for address in conf.addresses:
            try:
                found = _zone_call(conn, "querySource", conf.zone, address.host)
            except DBusError:
                found = False
            if not found:
                raise CNIError(
                    ErrCode.INTERNAL, f"failed to find the address {address.host} in {conf.zone} zone"
                )
