"""host-local IPAM tests (store and commands need no root: they use a temporary dataDir)."""
