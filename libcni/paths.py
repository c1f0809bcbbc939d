"""Where tools are found when the caller's environment names no PATH (one rule for every process
we start: the tools of the kernel edge, the warm server, the conformance suite)."""

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
