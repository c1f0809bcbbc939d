"""Decoding tables for the call path, generated from plugins.bridge.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import model
from libcni.types.netconf_schema import NetConf
from plugins.bridge.config import BridgeRecord

VlanTrunk = model(
    "VlanTrunk",
    (
        ('minID', 'minID', ("opt", ("int",)), ("value", None)),
        ('maxID', 'maxID', ("opt", ("int",)), ("value", None)),
        ('id', 'id', ("opt", ("int",)), ("value", None)),
    ),
)

MacHolder = model(
    "MacHolder",
    (
        ('mac', 'mac', ("str",), ("value", '')),
    ),
)

BridgeArgs = model(
    "BridgeArgs",
    (
        ('cni', 'cni', ("model", MacHolder), ("new", MacHolder.record)),
    ),
)

BridgeConf = model(
    "BridgeConf",
    (
        *NetConf.fields[0:9],
        ('bridge', 'bridge', ("str",), ("value", 'cni0')),
        ('isGateway', 'isGateway', ("bool",), ("value", False)),
        ('isDefaultGateway', 'isDefaultGateway', ("bool",), ("value", False)),
        ('forceAddress', 'forceAddress', ("bool",), ("value", False)),
        ('ipMasq', 'ipMasq', ("bool",), ("value", False)),
        ('ipMasqBackend', 'ipMasqBackend', ("opt", ("str",)), ("value", None)),
        ('mtu', 'mtu', ("int",), ("value", 0)),
        ('hairpinMode', 'hairpinMode', ("bool",), ("value", False)),
        ('promiscMode', 'promiscMode', ("bool",), ("value", False)),
        ('vlan', 'vlan', ("int",), ("value", 0)),
        ('vlanTrunk', 'vlanTrunk', ("opt", ("list", ("model", VlanTrunk))), ("value", None)),
        ('preserveDefaultVlan', 'preserveDefaultVlan', ("bool",), ("value", False)),
        ('macspoofchk', 'macspoofchk', ("bool",), ("value", False)),
        ('enabledad', 'enabledad', ("bool",), ("value", False)),
        ('disableContainerInterface', 'disableContainerInterface', ("bool",), ("value", False)),
        ('portIsolation', 'portIsolation', ("bool",), ("value", False)),
        ('removeEmptyBridge', 'removeEmptyBridge', ("bool",), ("value", False)),
        ('args', 'args', ("model", BridgeArgs), ("new", BridgeArgs.record)),
        ('runtimeConfig', 'runtimeConfig', ("model", MacHolder), ("new", MacHolder.record)),
    ),
    BridgeRecord,
)
