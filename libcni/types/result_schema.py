"""Decoding tables for the call path, generated from libcni.types.result_models by `make schemas`.

Do not edit: change the pydantic models and regenerate (a test checks this file is current).
"""

from libcni.lean import Model
from libcni.types.ipaddr import normalize_cidr, normalize_ip
from libcni.types.results import DNS as DNSRecord, IP020 as IP020Record, IPConfig as IPConfigRecord, Interface as InterfaceRecord, Result as ResultRecord, Result020 as Result020Record, Route as RouteRecord

Interface = Model(
    "Interface",
    InterfaceRecord,
    (
        ('name', 'name', ("str",), ("value", '')),
        ('mac', 'mac', ("str",), ("value", '')),
        ('mtu', 'mtu', ("int",), ("value", 0)),
        ('sandbox', 'sandbox', ("str",), ("value", '')),
        ('socketPath', 'socketPath', ("str",), ("value", '')),
        ('pciID', 'pciID', ("str",), ("value", '')),
    ),
)

IPConfig = Model(
    "IPConfig",
    IPConfigRecord,
    (
        ('interface', 'interface', ("opt", ("int",)), ("value", None)),
        ('address', 'address', ("check", ("str",), normalize_cidr), ("required",)),
        ('gateway', 'gateway', ("check", ("str",), normalize_ip), ("value", '')),
    ),
)

Route = Model(
    "Route",
    RouteRecord,
    (
        ('dst', 'dst', ("check", ("str",), normalize_cidr), ("required",)),
        ('gw', 'gw', ("check", ("str",), normalize_ip), ("value", '')),
        ('mtu', 'mtu', ("int",), ("value", 0)),
        ('advmss', 'advmss', ("int",), ("value", 0)),
        ('priority', 'priority', ("int",), ("value", 0)),
        ('table', 'table', ("opt", ("int",)), ("value", None)),
        ('scope', 'scope', ("opt", ("int",)), ("value", None)),
    ),
)

DNS = Model(
    "DNS",
    DNSRecord,
    (
        ('nameservers', 'nameservers', ("list", ("str",)), ("new", list)),
        ('domain', 'domain', ("str",), ("value", '')),
        ('search', 'search', ("list", ("str",)), ("new", list)),
        ('options', 'options', ("list", ("str",)), ("new", list)),
    ),
)

Result = Model(
    "Result",
    ResultRecord,
    (
        ('cniVersion', 'cniVersion', ("str",), ("value", '')),
        ('interfaces', 'interfaces', ("list", ("model", Interface)), ("new", list)),
        ('ips', 'ips', ("list", ("model", IPConfig)), ("new", list)),
        ('routes', 'routes', ("list", ("model", Route)), ("new", list)),
        ('dns', 'dns', ("model", DNS), ("new", DNS.record)),
    ),
)

IP020 = Model(
    "IP020",
    IP020Record,
    (
        ('ip', 'ip', ("check", ("str",), normalize_cidr), ("required",)),
        ('gateway', 'gateway', ("check", ("str",), normalize_ip), ("value", '')),
        ('routes', 'routes', ("list", ("model", Route)), ("new", list)),
    ),
)

Result020 = Model(
    "Result020",
    Result020Record,
    (
        ('cniVersion', 'cniVersion', ("str",), ("value", '')),
        ('ip4', 'ip4', ("opt", ("model", IP020)), ("value", None)),
        ('ip6', 'ip6', ("opt", ("model", IP020)), ("value", None)),
        ('dns', 'dns', ("model", DNS), ("new", DNS.record)),
    ),
)
