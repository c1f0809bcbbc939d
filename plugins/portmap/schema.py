"""Decoding tables for the call path, generated from plugins.portmap.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import model
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf_schema import NetConf

PortMapEntry = model(
    "PortMapEntry",
    (
        ('hostPort', 'hostPort', ("int",), ("value", 0)),
        ('containerPort', 'containerPort', ("int",), ("value", 0)),
        ('protocol', 'protocol', ("str",), ("value", '')),
        ('hostIP', 'hostIP', ("str",), ("value", '')),
    ),
)

RuntimeConfig = model(
    "RuntimeConfig",
    (
        ('portMappings', 'portMappings', ("list", ("model", PortMapEntry)), ("new", list)),
    ),
)

PortMapConf = model(
    "PortMapConf",
    (
        *NetConf.fields[0:9],
        ('backend', 'backend', ("opt", ("str",)), ("value", None)),
        ('snat', 'snat', ("opt", ("bool",)), ("value", None)),
        ('conditionsV4', 'conditionsV4', ("opt", ("list", ("str",))), ("value", None)),
        ('conditionsV6', 'conditionsV6', ("opt", ("list", ("str",))), ("value", None)),
        ('masqAll', 'masqAll', ("bool",), ("value", False)),
        ('markMasqBit', 'markMasqBit', ("opt", ("int",)), ("value", None)),
        ('externalSetMarkChain', 'externalSetMarkChain', ("opt", ("str",)), ("value", None)),
        ('runtimeConfig', 'runtimeConfig', ("model", RuntimeConfig), ("new", RuntimeConfig.record)),
    ),
    NetConfRecord,
)
