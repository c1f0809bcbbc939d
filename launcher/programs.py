"""The programs this bundle provides: executable name -> module with `main()` (and PLUGIN)."""

ENTRIES: dict[str, str] = {
    "bridge": "plugins.bridge",
    "tuning": "plugins.tuning",
    "portmap": "plugins.portmap",
    "firewall": "plugins.firewall",
    "bandwidth": "plugins.bandwidth",
    "loopback": "plugins.loopback",
    "host-local": "ipam.host_local",
    "cnitool": "libcni.cnitool",
}
