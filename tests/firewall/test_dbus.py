"""The small D-Bus client against a real dbus-daemon (a private bus whose socket is in a temporary
directory; nothing else is touched, no root needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from plugins.firewall import firewalld
from plugins.firewall.dbus import BUS_NAME, BUS_PATH, Connection, DBusError, encode_call, socket_target

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def bus(tmp_path):
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon not installed")
    socket = tmp_path / "bus"
    config = tmp_path / "bus.conf"
    config.write_text(CONFIG.format(socket=socket))
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(socket):
            assert time.monotonic() < deadline, "dbus-daemon did not start"
            time.sleep(0.05)
        yield {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={socket}"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_calls_and_errors(bus):
    with Connection.system(bus) as conn:
        assert conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "GetNameOwner", BUS_NAME) == BUS_NAME
        assert conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "NameHasOwner", "org.example.Nobody") == 0
        with pytest.raises(DBusError) as info:
            conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "GetNameOwner", "org.fedoraproject.FirewallD1")
        assert info.value.name == "org.freedesktop.DBus.Error.NameHasNoOwner"
        assert "FirewallD1" in info.value.message
        # the connection stays usable after an error reply
        assert conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "GetId")


def test_firewalld_not_running(bus, tmp_path):
    assert firewalld.running(bus) is False
    assert firewalld.running({"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/none"}) is False
    assert firewalld.running({"DBUS_SYSTEM_BUS_ADDRESS": "tcp:host=localhost,port=1"}) is False


def test_second_address_is_tried(bus, tmp_path):
    env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/none;" + bus["DBUS_SYSTEM_BUS_ADDRESS"]}
    with Connection.system(env) as conn:
        assert conn.call(BUS_NAME, BUS_PATH, BUS_NAME, "GetNameOwner", BUS_NAME) == BUS_NAME


def test_connect_error_is_gos_dial_message(tmp_path):
    with pytest.raises(DBusError) as info:
        Connection.system({"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/none"})
    assert info.value.message.startswith(f"dial unix {tmp_path}/none: ")


def test_addresses():
    assert socket_target("unix:path=/run/dbus/system_bus_socket") == "/run/dbus/system_bus_socket"
    assert socket_target("unix:abstract=/tmp/dbus-x,guid=1") == "\0/tmp/dbus-x"
    assert socket_target("unix:path=/tmp/a%20b") == "/tmp/a b"
    assert socket_target("tcp:host=x,port=1") is None


def test_encoded_call_is_aligned():
    data = encode_call(7, "org.a", "/o", "org.a.I", "M", ("x", "yz"))
    assert data[:4] == b"l\x01\x00\x01"
    body = b"\x01\x00\x00\x00x\x00\x00\x00" + b"\x02\x00\x00\x00yz\x00"
    assert int.from_bytes(data[4:8], "little") == len(body)
    assert int.from_bytes(data[8:12], "little") == 7
    assert data.endswith(body) and (len(data) - len(body)) % 8 == 0
