"""The one place pyroute2 is imported (lazily: it costs ~200 ms), and netlink error mapping."""

from __future__ import annotations

import errno
import importlib.util
import socket
import sys
import types
from typing import TYPE_CHECKING

from libcni.types.errors import CNIError, ErrCode

if TYPE_CHECKING:  # pragma: no cover
    from pyroute2 import IPRoute


def iproute(sock: socket.socket | None = None) -> IPRoute:
    """An IPRoute in the current netns, or on a socket opened in another one."""
    _lean_pyroute2()
    from pyroute2.iproute.linux import IPRoute

    return IPRoute(use_socket=sock) if sock is not None else IPRoute()


def _lean_pyroute2() -> None:
    """Make `pyroute2` importable without running its __init__ (which loads NDB, IPDB, nftables,
    conntrack... : ~50 ms of every netlink-using call). The package's own names are loaded the
    first time anything asks for one, so `from pyroute2 import NetlinkError` keeps working."""
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    stub = types.ModuleType("pyroute2")
    stub.__path__ = list(spec.submodule_search_locations)
    stub.__spec__ = spec
    stub.__file__ = spec.origin

    def load_package_names(name: str):
        # `from pyroute2 import config` asks the package first: let submodules import normally.
        if importlib.util.find_spec(f"pyroute2.{name}") is not None:
            return importlib.import_module(f"pyroute2.{name}")
        del stub.__getattr__
        spec.loader.exec_module(stub)
        return getattr(stub, name)

    stub.__getattr__ = load_package_names
    sys.modules["pyroute2"] = stub


def netlink_error_code(err: BaseException) -> int | None:
    """The errno of a pyroute2 NetlinkError, else None."""
    code = getattr(err, "code", None)
    return code if isinstance(code, int) else None


def is_not_found(err: BaseException) -> bool:
    return netlink_error_code(err) in (errno.ENODEV, errno.ENOENT, errno.ESRCH)


def is_exists(err: BaseException) -> bool:
    return netlink_error_code(err) == errno.EEXIST


def to_cni_error(err: BaseException, what: str) -> CNIError:
    """Map a kernel error to a CNI error; EBUSY/EAGAIN/EINTR are worth a retry (code 11)."""
    code = netlink_error_code(err)
    if code in (errno.EBUSY, errno.EAGAIN, errno.EINTR):
        return CNIError(ErrCode.TRY_AGAIN_LATER, f"{what}: {errno.errorcode.get(code, code)}")
    detail = errno.errorcode.get(code, str(code)) if code is not None else ""
    return CNIError(ErrCode.INTERNAL, f"{what}: {err}", detail)
