"""The CNI error object and the well-known error codes."""

from __future__ import annotations

import os

from ..gojson import dumps


class ErrCode:
    """The well-known codes (plain ints: an IntEnum would cost `enum`, ~4 ms of every cold call)."""

    UNKNOWN = 0
    INCOMPATIBLE_CNI_VERSION = 1
    UNSUPPORTED_FIELD = 2
    UNKNOWN_CONTAINER = 3
    INVALID_ENVIRONMENT_VARIABLES = 4
    IO_FAILURE = 5
    DECODING_FAILURE = 6
    INVALID_NETWORK_CONFIG = 7
    INVALID_NETNS = 8
    TRY_AGAIN_LATER = 11
    PLUGIN_NOT_AVAILABLE = 50
    LIMITED_CONNECTIVITY = 51
    INTERNAL = 999


class CNIError(Exception):
    """An error that reaches the caller as a CNI error object with its own code."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = int(code)
        self.msg = msg
        self.details = details

    def __str__(self) -> str:
        # The text form Go runtimes show: msg, then "; details" when present.
        return f"{self.msg}; {self.details}" if self.details else self.msg

    def to_dict(self, cni_version: str | None = None) -> dict:
        out: dict = {}
        if cni_version:
            out["cniVersion"] = cni_version
        out["code"] = self.code
        out["msg"] = self.msg
        if self.details:
            out["details"] = self.details
        return out

    def to_json(self, cni_version: str | None = None) -> bytes:
        """Pretty-printed like Go (4-space indent, no trailing newline)."""
        return encode_json(self.to_dict(cni_version))


def encode_json(value: object) -> bytes:
    """Pretty JSON like Go's MarshalIndent of a struct: keys in their order, 4-space indent, <, >
    and & escaped; text that is not valid Unicode (undecodable bytes from the environment, lone
    surrogate escapes from stdin) becomes U+FFFD, as Go writes invalid UTF-8."""
    return dumps(value, indent="    ", ordered=True)


def errno_text(code: int) -> str:
    """An errno as Go's syscall.Errno prints it ("no such file or directory": lower case)."""
    text = os.strerror(code)
    return text[:1].lower() + text[1:]


def internal(err: BaseException) -> CNIError:
    """Any untyped failure becomes code 999 with the error text, as Go's skel does."""
    if isinstance(err, CNIError):
        return err
    text = str(err) or type(err).__name__
    return CNIError(ErrCode.INTERNAL, text)
