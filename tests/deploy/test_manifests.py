"""deploy/kubernetes: the DaemonSet and its RBAC agree with each other and with cni-install.

Parsed with Debian's python3-yaml (scripts/setup installs it): the manifests are checked for what
the installer relies on, not for every Kubernetes field (that needs an API server)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from launcher.install import cli
from tests.deploy import artifacts

KUBE = os.path.join(artifacts.ROOT, "deploy", "kubernetes")
SYSTEM_PYTHON = "/usr/bin/python3"


def load(name: str) -> list[dict]:
    reader = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", reader, os.path.join(KUBE, name)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 and "No module named 'yaml'" in proc.stderr:
        pytest.fail("python3-yaml is missing: run scripts/setup as root (it installs it)")
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in json.loads(proc.stdout) if doc]


def by_kind(docs: list[dict]) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in docs}


def test_rbac_is_get_on_nodes_only():
    rbac = by_kind(load("rbac.yaml"))
    sa, role, binding = rbac["ServiceAccount"], rbac["ClusterRole"], rbac["ClusterRoleBinding"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": sa["metadata"]["namespace"]}
    ]


def test_daemonset_runs_the_installer_on_every_node():
    ds = by_kind(load("daemonset.yaml"))["DaemonSet"]
    sa = by_kind(load("rbac.yaml"))["ServiceAccount"]
    assert ds["metadata"]["namespace"] == sa["metadata"]["namespace"]
    pod = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    assert pod["tolerations"] == [{"operator": "Exists"}]  # every taint of every node
    assert pod["hostNetwork"] is True  # the pod network is what it installs
    (container,) = pod["containers"]
    assert container["image"] == f"localhost/{artifacts.NAME}:v{artifacts.VERSION}"
    env = {e["name"]: e for e in container["env"]}
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    for name in env:
        assert name in cli.HELP or name == "NODE_NAME", f"{name} is not a setting of cni-install"
    volumes = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    mounts = {volumes[m["name"]]: m["mountPath"] for m in container["volumeMounts"]}
    defaults = cli.parse_args([], {})
    assert mounts == {"/opt/cni/bin": defaults.bin_dir, "/etc/cni/net.d": defaults.conf_dir}
    security = container["securityContext"]
    assert security["capabilities"] == {"drop": ["ALL"]} and security["readOnlyRootFilesystem"] is True


def test_kustomization_lists_every_manifest():
    (kustomization,) = load("kustomization.yaml")
    manifests = sorted(n for n in os.listdir(KUBE) if n.endswith(".yaml") and n != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == manifests
