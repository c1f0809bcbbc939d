"""Decoding tables for the call path, generated from plugins.firewall.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import model
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf_schema import NetConf

FirewallNetConf = model(
    "FirewallNetConf",
    (
        *NetConf.fields[0:9],
        ('backend', 'backend', ("str",), ("value", '')),
        ('iptablesAdminChainName', 'iptablesAdminChainName', ("str",), ("value", '')),
        ('firewalldZone', 'firewalldZone', ("str",), ("value", '')),
        ('ingressPolicy', 'ingressPolicy', ("str",), ("value", '')),
    ),
    NetConfRecord,
)
