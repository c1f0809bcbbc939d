"""Decoding tables for the call path, generated from plugins.bandwidth.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import model
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf_schema import NetConf
from plugins.bandwidth.config import uint64

BandwidthEntry = model(
    "BandwidthEntry",
    (
        ('ingressRate', 'ingressRate', ("check", ("int",), uint64), ("value", 0)),
        ('ingressBurst', 'ingressBurst', ("check", ("int",), uint64), ("value", 0)),
        ('egressRate', 'egressRate', ("check", ("int",), uint64), ("value", 0)),
        ('egressBurst', 'egressBurst', ("check", ("int",), uint64), ("value", 0)),
    ),
)

RuntimeConfig = model(
    "RuntimeConfig",
    (
        ('bandwidth', 'bandwidth', ("opt", ("model", BandwidthEntry)), ("value", None)),
    ),
)

BandwidthConf = model(
    "BandwidthConf",
    (
        *NetConf.fields[0:9],
        ('ingressRate', 'ingressRate', ("opt", ("check", ("int",), uint64)), ("value", None)),
        ('ingressBurst', 'ingressBurst', ("opt", ("check", ("int",), uint64)), ("value", None)),
        ('egressRate', 'egressRate', ("opt", ("check", ("int",), uint64)), ("value", None)),
        ('egressBurst', 'egressBurst', ("opt", ("check", ("int",), uint64)), ("value", None)),
        ('runtimeConfig', 'runtimeConfig', ("model", RuntimeConfig), ("new", RuntimeConfig.record)),
    ),
    NetConfRecord,
)
