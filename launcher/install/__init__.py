"""cni-install: puts this bundle's programs and a network config onto a node (the DaemonSet's job).

See deploy/kubernetes/README.md. The work is in files.py (programs, atomically), conflist.py (the
configs), node.py (the pod CIDRs from the Kubernetes API) and cli.py (settings and the loop).
"""


def main() -> None:
    from launcher.install.cli import main as cli_main

    cli_main()
