"""Decoding tables for the call path, generated from ipam.host_local.models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import model
from ipam.host_local.config import IPAMRecord, RangeRecord, cidr_text, ip_text, requested_text
from libcni.types.netconf import NetConfRecord
from libcni.types.netconf_schema import NetConf
from libcni.types.result_schema import Route

RangeConf = model(
    "RangeConf",
    (
        ('subnet', 'subnet', ("opt", ("check", ("str",), cidr_text)), ("value", None)),
        ('rangeStart', 'rangeStart', ("check", ("str",), ip_text), ("value", '')),
        ('rangeEnd', 'rangeEnd', ("check", ("str",), ip_text), ("value", '')),
        ('gateway', 'gateway', ("check", ("str",), ip_text), ("value", '')),
    ),
    RangeRecord,
)

IPAMConf = model(
    "IPAMConf",
    (
        ('subnet', 'subnet', ("opt", ("check", ("str",), cidr_text)), ("value", None)),
        ('rangeStart', 'rangeStart', ("check", ("str",), ip_text), ("value", '')),
        ('rangeEnd', 'rangeEnd', ("check", ("str",), ip_text), ("value", '')),
        ('gateway', 'gateway', ("check", ("str",), ip_text), ("value", '')),
        ('type', 'type', ("str",), ("value", '')),
        ('routes', 'routes', ("list", ("model", Route)), ("new", list)),
        ('dataDir', 'dataDir', ("str",), ("value", '')),
        ('resolvConf', 'resolvConf', ("str",), ("value", '')),
        ('ranges', 'ranges', ("list", ("list", ("model", RangeConf))), ("new", list)),
    ),
    IPAMRecord,
)

RuntimeConf = model(
    "RuntimeConf",
    (
        ('ipRanges', 'ipRanges', ("list", ("list", ("model", RangeConf))), ("new", list)),
        ('ips', 'ips', ("list", ("check", ("str",), requested_text)), ("new", list)),
    ),
)

CNIArgsConf = model(
    "CNIArgsConf",
    (
        ('ips', 'ips', ("list", ("check", ("str",), requested_text)), ("new", list)),
    ),
)

ArgsConf = model(
    "ArgsConf",
    (
        ('cni', 'cni', ("opt", ("model", CNIArgsConf)), ("value", None)),
    ),
)

HostLocalNetConf = model(
    "HostLocalNetConf",
    (
        *NetConf.fields[0:4],
        ('ipam', 'ipam', ("opt", ("model", IPAMConf)), ("value", None)),
        *NetConf.fields[5:9],
        ('runtimeConfig', 'runtimeConfig', ("model", RuntimeConf), ("new", RuntimeConf.record)),
        ('args', 'args', ("opt", ("model", ArgsConf)), ("value", None)),
    ),
    NetConfRecord,
)
