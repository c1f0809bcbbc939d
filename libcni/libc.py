"""The C library calls Python 3.11's os module lacks (setns, statfs, prctl), through ctypes' C core.

Not the ctypes package: PyInstaller's bootstrap imports ctypes at the start of every frozen
program that ships it (to patch ctypes.CDLL), ~4 ms of every call. The build leaves ctypes out
(build.spec), and the few calls we need are declared here on `_ctypes` as ctypes itself would
(ctypes.CDLL(None, use_errno=True), restype c_int).
"""

from __future__ import annotations

import _ctypes
import os


class _CInt(_ctypes._SimpleCData):  # ctypes.c_int
    _type_ = "i"


class _CChar(_ctypes._SimpleCData):  # ctypes.c_char
    _type_ = "c"


class _Function(_ctypes.CFuncPtr):  # a function of ctypes.CDLL(None, use_errno=True)
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _CInt


class _Program:  # what CFuncPtr looks a symbol up in: the program and the libraries it loaded
    _handle = _ctypes.dlopen(None, os.RTLD_NOW | os.RTLD_LOCAL)  # type: ignore[arg-type]


def call(name: str, *args: int | bytes | object) -> int:
    """Call the libc function `name` (int result); OSError with its errno when it returns -1."""
    function = _Function((name, _Program))  # type: ignore[arg-type]  # CDLL is duck-typed
    result = function(*args)
    if result == -1:
        err = _ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def buffer(size: int) -> object:
    """A zeroed C char array of `size` bytes to pass to a call (ctypes.create_string_buffer);
    its bytes are `.raw`."""
    array = type("_Buffer", (_ctypes.Array,), {"_type_": _CChar, "_length_": size})
    return array()
