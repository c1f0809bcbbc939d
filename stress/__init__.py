"""Hardening runs: fuzzing, fault injection, concurrency and security probes (`make stress`).

Everything here acts on the kernel and on /var/lib/cni, /run/cni, so it refuses to run
outside tests/isolated (a private network + mount namespace). `python -m stress --help`.
"""
