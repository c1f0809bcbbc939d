"""Decoding tables for the call path, generated from plugins.firewall.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import model
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf_schema import Attachment
from libcni.types.result_schema import DNS

FirewallNetConf = model(
    "FirewallNetConf",
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
        ('backend', 'backend', ("str",), ("value", '')),
        ('iptablesAdminChainName', 'iptablesAdminChainName', ("str",), ("value", '')),
        ('firewalldZone', 'firewalldZone', ("str",), ("value", '')),
        ('ingressPolicy', 'ingressPolicy', ("str",), ("value", '')),
    ),
    NetConfRecord,
)
