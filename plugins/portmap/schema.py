"""Decoding tables for the call path, generated from plugins.portmap.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import model
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf_schema import Attachment
from libcni.types.result_schema import DNS

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
        ('cniVersion', 'cniVersion', ("str",), ("value", '')),
        ('name', 'name', ("str",), ("value", '')),
        ('type', 'type', ("str",), ("value", '')),
        ('capabilities', 'capabilities', ("dict", ("bool",)), ("new", dict)),
        ('ipam', 'ipam', ("dict", ("any",)), ("new", dict)),
        ('dns', 'dns', ("model", DNS), ("new", DNS.record)),
        ('prevResult', 'prevResult', ("opt", ("dict", ("any",))), ("value", None)),
        ('valid_attachments', 'cni.dev/valid-attachments', ("opt", ("list", ("model", Attachment))), ("value", None)),
        ('legacy_attachments', 'cni.dev/attachments', ("opt", ("list", ("model", Attachment))), ("value", None)),
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
