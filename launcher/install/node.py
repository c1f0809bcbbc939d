"""The node's pod CIDRs from its Node object, read through the Kubernetes API as the pod's service account.

GET /api/v1/nodes/<name> with the mounted token, trusting the mounted cluster CA; needs only
`get` on nodes (deploy/kubernetes/rbac.yaml). `spec.podCIDRs` (dual stack) wins over the older
single `spec.podCIDR`. The node name comes from the downward API (NODE_NAME).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


class NodeError(RuntimeError):
    """The Node object could not be read, or has no pod CIDR yet."""


def api_server(env: dict[str, str]) -> str:
    """CNI_INSTALL_API_SERVER if set, else the in-cluster address from the service env vars."""
    explicit = env.get("CNI_INSTALL_API_SERVER", "").rstrip("/")
    if explicit:
        return explicit
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise NodeError("not in a cluster: KUBERNETES_SERVICE_HOST is not set (set POD_CIDRS instead)")
    if ":" in host:  # an IPv6 service address
        host = f"[{host}]"
    return f"https://{host}:{port}"


def read_node(name: str, server: str, token_file: str, ca_file: str, timeout: float = 10) -> dict:
    url = f"{server}/api/v1/nodes/{urllib.parse.quote(name, safe='')}"
    try:
        with open(token_file) as f:
            token = f.read().strip()
    except OSError as e:
        raise NodeError(f"service account token {token_file}: {e.strerror}") from None
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    context = None
    if url.startswith("https:"):
        import ssl

        try:
            context = ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as e:
            raise NodeError(f"cluster CA {ca_file}: {e}") from None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        raise NodeError(f"GET {url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise NodeError(f"GET {url}: {getattr(e, 'reason', e)}") from None
    except ValueError as e:
        raise NodeError(f"GET {url}: not JSON ({e})") from None


def pod_cidrs(node: dict) -> list[str]:
    spec = node.get("spec") or {}
    cidrs = [c for c in spec.get("podCIDRs") or [] if c]
    if not cidrs and spec.get("podCIDR"):
        cidrs = [spec["podCIDR"]]
    if not cidrs:
        name = (node.get("metadata") or {}).get("name", "?")
        raise NodeError(f"node {name} has no spec.podCIDRs yet (is --allocate-node-cidrs on?)")
    return cidrs
