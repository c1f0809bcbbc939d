"""Decoding tables for the call path, generated from plugins.tuning.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import Model, model
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf_schema import NetConf
from plugins.tuning.backup import SavedLink as SavedLinkRecord
from plugins.tuning.config import not_negative

RuntimeConfig = model(
    "RuntimeConfig",
    (
        ('mac', 'mac', ("str",), ("value", '')),
    ),
)

CniArgs = model(
    "CniArgs",
    (
        ('sysctl', 'sysctl', ("opt", ("dict", ("str",))), ("value", None)),
        ('mac', 'mac', ("opt", ("str",)), ("value", None)),
        ('promisc', 'promisc', ("opt", ("bool",)), ("value", None)),
        ('mtu', 'mtu', ("opt", ("check", ("int",), not_negative)), ("value", None)),
        ('allmulti', 'allmulti', ("opt", ("bool",)), ("value", None)),
        ('txQLen', 'txQLen', ("opt", ("check", ("int",), not_negative)), ("value", None)),
    ),
)

ArgsSection = model(
    "ArgsSection",
    (
        ('cni', 'cni', ("opt", ("model", CniArgs)), ("value", None)),
    ),
)

TuningConf = model(
    "TuningConf",
    (
        *NetConf.fields[0:9],
        ('dataDir', 'dataDir', ("str",), ("value", '')),
        ('sysctl', 'sysctl', ("opt", ("dict", ("str",))), ("value", None)),
        ('mac', 'mac', ("str",), ("value", '')),
        ('promisc', 'promisc', ("bool",), ("value", False)),
        ('mtu', 'mtu', ("check", ("int",), not_negative), ("value", 0)),
        ('txQLen', 'txQLen', ("opt", ("check", ("int",), not_negative)), ("value", None)),
        ('allmulti', 'allmulti', ("opt", ("bool",)), ("value", None)),
        ('runtimeConfig', 'runtimeConfig', ("model", RuntimeConfig), ("new", RuntimeConfig.record)),
        ('args', 'args', ("opt", ("model", ArgsSection)), ("value", None)),
    ),
    NetConfRecord,
)

SavedLink = Model(
    "SavedLink",
    SavedLinkRecord,
    (
        ('mac', 'mac', ("str",), ("value", '')),
        ('promisc', 'promisc', ("opt", ("bool",)), ("value", None)),
        ('mtu', 'mtu', ("int",), ("value", 0)),
        ('allmulti', 'allmulti', ("opt", ("bool",)), ("value", None)),
        ('txQLen', 'txQLen', ("opt", ("int",)), ("value", None)),
    ),
)
