"""Build a tiny OCI image archive from the machine's busybox-static, without any registry.

The rootfs is /bin/busybox plus one symlink per applet, a small /etc and a web root for
busybox httpd. The layer is an uncompressed tar written in a fixed order with fixed times, so
the same busybox gives the same image digest. The archive is an OCI image layout in a tar
(`oci-layout`, `index.json`, `blobs/sha256/...`), which both `ctr image import` and
`podman load` read.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile

BUSYBOX = "/bin/busybox"
IMAGE_NAME = "localhost/cni-e2e/busybox:latest"
WEB_PAGE = "hello from the cni e2e container\n"

ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/hosts": "127.0.0.1 localhost\n",
    "www/index.html": WEB_PAGE,
}
EMPTY_DIRS = ["dev", "proc", "sys", "tmp", "run", "root", "var", "etc", "www"]


def _applet_paths(busybox: str) -> list[str]:
    out = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True).stdout
    return sorted(
        {line.strip() for line in out.splitlines() if line.strip() and line.strip() != "bin/busybox"}
    )


def _info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def layer_tar(busybox: str = BUSYBOX) -> bytes:
    """The single layer: busybox, applet symlinks (relative, so they resolve in any root), files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = set(EMPTY_DIRS) | {"bin"}
        applets = _applet_paths(busybox)
        for path in applets:
            parent = os.path.dirname(path)
            while parent:
                dirs.add(parent)
                parent = os.path.dirname(parent)
        for d in sorted(dirs):
            tar.addfile(_info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
        with open(busybox, "rb") as f:
            data = f.read()
        tar.addfile(_info("bin/busybox", tarfile.REGTYPE, 0o755, len(data)), io.BytesIO(data))
        for path in applets:
            link = _info(path, tarfile.SYMTYPE, 0o777)
            link.linkname = os.path.relpath("bin/busybox", os.path.dirname(path))
            tar.addfile(link)
        for path, text in sorted(ETC_FILES.items()):
            raw = text.encode()
            tar.addfile(_info(path, tarfile.REGTYPE, 0o644, len(raw)), io.BytesIO(raw))
    return buf.getvalue()


def _blob(blobs: dict[str, bytes], data: bytes, media_type: str) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def oci_archive(path: str, name: str = IMAGE_NAME, busybox: str = BUSYBOX) -> str:
    """Write the OCI image archive to `path`; returns the manifest digest."""
    blobs: dict[str, bytes] = {}
    layer = layer_tar(busybox)
    layer_desc = _blob(blobs, layer, "application/vnd.oci.image.layer.v1.tar")
    config = {
        "architecture": _goarch(),
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]},
        "history": [{"created_by": "cni e2e: busybox-static rootfs"}],
    }
    config_desc = _blob(blobs, _canonical(config), "application/vnd.oci.image.config.v1+json")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = _blob(blobs, _canonical(manifest), "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["annotations"] = {
        "io.containerd.image.name": name,
        "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1],
    }
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest_desc],
    }
    files = {"oci-layout": _canonical({"imageLayoutVersion": "1.0.0"}), "index.json": _canonical(index)}
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info("blobs", tarfile.DIRTYPE, 0o755))
        tar.addfile(_info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        for digest, data in sorted(blobs.items()):
            name_in_tar = "blobs/sha256/" + digest.split(":", 1)[1]
            tar.addfile(_info(name_in_tar, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
        for name_in_tar, data in files.items():
            tar.addfile(_info(name_in_tar, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return manifest_desc["digest"]


def _goarch() -> str:
    machine = os.uname().machine
    return {
        "x86_64": "amd64",
        "aarch64": "arm64",
        "armv7l": "arm",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
    }.get(machine, machine)


if __name__ == "__main__":
    import sys

    print(oci_archive(sys.argv[1]))
