"""portmap's setup lock (an abstract unix socket): held inside the block, free after it, and a
caller that cannot get it goes on after its timeout instead of hanging."""

from __future__ import annotations

import errno
import socket
import uuid

import pytest

from plugins.portmap.iptables_backend import setup_lock


def try_bind(name: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind("\0" + name)
    except OSError as err:
        sock.close()
        assert err.errno == errno.EADDRINUSE
        return None
    return sock


def test_held_inside_the_block_and_released_after():
    name = f"cni-test-lock-{uuid.uuid4().hex}"
    with setup_lock(name):
        assert try_bind(name) is None
    other = try_bind(name)
    assert other is not None
    other.close()


def test_released_when_the_block_raises():
    name = f"cni-test-lock-{uuid.uuid4().hex}"
    with pytest.raises(RuntimeError), setup_lock(name):
        raise RuntimeError("boom")
    other = try_bind(name)
    assert other is not None
    other.close()


def test_a_held_lock_only_delays_until_the_timeout():
    name = f"cni-test-lock-{uuid.uuid4().hex}"
    holder = try_bind(name)
    assert holder is not None
    try:
        entered = False
        with setup_lock(name, timeout=0.05):
            entered = True
        assert entered
    finally:
        holder.close()
