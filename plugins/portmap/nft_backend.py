"""The nftables backend: list the cni_hostport tables, apply one `nft -f -` transaction; record
which network made a container's rules (pkg/owners.py), so GC removes only this network's."""

from __future__ import annotations

from libcni import gojson
from libcni.types.errors import CNIError, ErrCode
from pkg import nft, owners
from pkg.command import run_parallel
from pkg.rollback import Rollback

from . import nft_rules as rules
from .config import ContainerNet, PortMapConfig

FAMILIES = (4, 6)


def list_rules(families: tuple[int, ...] = FAMILIES) -> list[rules.ListedRule]:
    """The rules of each family's table (listed side by side); a missing table has none."""
    argvs = [([nft.NFT, "-j", "list", "table", rules.family_name(f), rules.TABLE], None) for f in families]
    listed: list[rules.ListedRule] = []
    for family, proc in zip(families, run_parallel(argvs), strict=True):
        if proc.returncode != 0:
            continue  # no table (or no nft): nothing of ours there
        try:
            items = gojson.loads(proc.stdout or b"{}", go_numbers=False).get("nftables", [])
        except ValueError:
            continue
        listed += rules.parse_listing(family, items)
    return listed


def apply_with_retry(render, families: tuple[int, ...], what: str) -> None:
    """Render from a fresh listing and apply; once more if a listed rule vanished in between."""
    for attempt in (1, 2):
        script = render(list_rules(families))
        if script is None:
            return
        try:
            nft.apply(script)
            return
        except nft.NftError as err:
            if attempt == 2 or "delete rule" not in script:
                raise CNIError(ErrCode.INTERNAL, f"{what}: {err.msg.removeprefix('nft failed: ')}") from None


def forward(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    families = tuple(n.family for n in nets)
    # The container's rules from another network's ADD share the comment: keep them (Go appends).
    replace = not owners.elsewhere(conf.name, [container_id])
    guard = ""
    if conf.snat and 4 in families:  # route_localnet gets enabled: the guard goes in (localnet.py)
        from .localnet import nft_guard_lines

        guard = "\n".join(nft_guard_lines()) + "\n"
    with Rollback() as rollback:
        apply_with_retry(
            lambda existing: rules.add_script(conf, container_id, nets, existing, replace) + guard,
            families,
            "unable to set up nftables rules for port mappings",
        )
        rollback.push("remove the port mapping rules", lambda: unforward(conf, container_id))
        owners.record(conf.name, container_id, conf.ifname)


def unforward(conf: PortMapConfig, container_id: str) -> None:
    apply_with_retry(
        lambda existing: rules.del_script(container_id, existing), FAMILIES, "error deleting nftables rules"
    )
    owners.forget(conf.name, [container_id])


def check(conf: PortMapConfig, container_id: str, nets: list[ContainerNet]) -> None:
    existing = list_rules(tuple(n.family for n in nets))
    for net in nets:
        problem = rules.check_errors(conf, container_id, net, existing)
        if problem:
            raise CNIError(ErrCode.INTERNAL, problem)


def gc(conf: PortMapConfig) -> None:
    """Containers this network's ADD recorded and that are not valid any more: their rules go,
    unless another network recorded the same container too; then their markers go."""
    valid = conf.valid_container_ids
    assert valid is not None  # without the list cmd_gc removes nothing
    stale = [cid for cid in owners.recorded(conf.name) if cid not in valid]
    if not stale:
        return
    doomed = set(stale) - owners.elsewhere(conf.name, stale)
    if doomed:
        apply_with_retry(
            lambda existing: rules.gc_script(doomed, existing), FAMILIES, "error deleting nftables rules"
        )
    owners.forget(conf.name, stale)


def usable() -> bool:
    return nft.available()
