"""Concurrency: many chain ADDs then DELs in parallel on one bridge network, and rounds of ADDs
racing to create the same bridge and the same nftables tables.

Pass: no duplicate IP (results, interfaces and the host-local store agree), no failure other than
code 11 "try again" followed by a successful retry, every container reachable in its netns with
its address, and after the DELs nothing but the tolerated bookkeeping left.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from libcni.api import NetworkError, cni_error_of

from . import sandbox, state
from .chain import Chain, conflist
from .findings import Findings

RETRIES = 5


def _with_retry(action, counts: Counter, what: str) -> Any:  # noqa: ANN001
    for attempt in range(RETRIES + 1):
        try:
            return action()
        except NetworkError as err:
            cni = cni_error_of(err)
            if cni is not None and cni.code == 11 and attempt < RETRIES:
                counts[f"{what}: code 11, retried"] += 1
                time.sleep(0.05 * (attempt + 1))
                continue
            raise
    return None


def run_concurrency(size, findings: Findings) -> dict:  # noqa: ANN001
    sandbox.require_isolated()
    sandbox.make_dirs()
    launchers = sandbox.write_launchers(state.SANDBOX + "/bin")
    sandbox.sh("nft", "flush", "ruleset")
    out = {"parallel_chains": _parallel(size, launchers, findings)}
    out["races"] = _races(size, launchers, findings)
    return out


def _parallel(size, launchers: str, findings: Findings) -> dict:  # noqa: ANN001
    n = size.chains
    chain = Chain(launchers, conflist("conc", "concbr0", "10.72.0.0/16"))
    baseline = state.snapshot()
    names = [sandbox.unique("conc-") for _ in range(n)]
    with ThreadPoolExecutor(16) as pool:
        paths = list(pool.map(sandbox.add_netns, names))
    counts: Counter = Counter()
    results: dict[int, Any] = {}
    errors: dict[int, str] = {}

    def add(i: int) -> None:
        rt = chain.runtime(f"conc-{i}", paths[i], port=30000 + i)
        try:
            results[i] = _with_retry(lambda: chain.add(rt), counts, "ADD")
        except Exception as err:  # noqa: BLE001
            errors[i] = str(err)

    t0 = time.monotonic()
    with ThreadPoolExecutor(size.workers) as pool:
        list(pool.map(add, range(n)))
    add_seconds = time.monotonic() - t0

    ips = [str(ip.address).split("/")[0] for r in results.values() for ip in getattr(r, "ips", [])]
    duplicates = [ip for ip, c in Counter(ips).items() if c > 1]
    in_kernel = Counter()
    for i in results:
        for ifname, addr in state.read_addrs(names[i]):
            if ifname == "eth0":
                in_kernel[addr.split("/")[0]] += 1
    store = [
        p for p in state.read_files(["/var/lib/cni/networks/conc"]) if p.rsplit("/", 1)[-1][:1].isdigit()
    ]
    kernel_dupes = [ip for ip, c in in_kernel.items() if c > 1]
    missing = [i for i in results if not any(ifn == "eth0" for ifn, _ in state.read_addrs(names[i]))]
    for i, err in errors.items():
        findings.add(
            "concurrency",
            "add-failed",
            f"parallel chain ADD failed: {err[:120]}",
            f"container conc-{i}: {err}",
        )
    if duplicates or kernel_dupes:
        findings.add(
            "concurrency", "duplicate-ip", f"duplicate IPs {sorted(set(duplicates + kernel_dupes))[:5]}", ""
        )
    if len(store) != len(results):
        findings.add(
            "concurrency",
            "store-mismatch",
            f"host-local store holds {len(store)} addresses for {len(results)} containers",
            "",
        )
    if missing:
        findings.add(
            "concurrency", "missing-address", f"{len(missing)} containers without an address on eth0", ""
        )

    def delete(i: int) -> None:
        rt = chain.runtime(f"conc-{i}", paths[i], port=30000 + i)
        try:
            _with_retry(lambda: chain.delete(rt), counts, "DEL")
        except Exception as err:  # noqa: BLE001
            findings.add(
                "concurrency",
                "del-failed",
                f"parallel chain DEL failed: {str(err)[:120]}",
                f"conc-{i}: {err}",
            )

    t0 = time.monotonic()
    with ThreadPoolExecutor(size.workers) as pool:
        list(pool.map(delete, range(n)))
    del_seconds = time.monotonic() - t0
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(sandbox.del_netns, names))
    residue = state.residue(state.diff(baseline, state.snapshot()))
    for change in residue:
        findings.add("concurrency", "residue", f"after {n} parallel DELs: {change.category}", change.what)
    print(
        f"  concurrency: {n} chains, {len(results)} ADDs ok, {len(errors)} failed, {len(residue)} residue",
        flush=True,
    )
    return {
        "chains": n,
        "workers": size.workers,
        "adds_ok": len(results),
        "adds_failed": len(errors),
        "unique_ips": len(set(ips)),
        "duplicate_ips": len(duplicates) + len(kernel_dupes),
        "store_files_after_add": len(store),
        "add_seconds": round(add_seconds, 1),
        "del_seconds": round(del_seconds, 1),
        "retries": dict(counts),
        "residue_after_del": len(residue),
    }


def _race_add(
    chain: Chain,
    container_id: str,
    netns: str,
    port: int,
    barrier: threading.Barrier,
    counts: Counter,
    ok: list,
    findings: Findings,
) -> None:
    rt = chain.runtime(container_id, netns, port=port)
    barrier.wait()
    try:
        _with_retry(lambda: chain.add(rt), counts, "ADD")
        ok.append(container_id)
    except Exception as err:  # noqa: BLE001
        findings.add("concurrency", "race-failed", f"racing ADD failed: {str(err)[:140]}", str(err))


def _races(size, launchers: str, findings: Findings) -> dict:  # noqa: ANN001
    """Each round: no bridge, no nft tables; `racers` ADDs released at once by a barrier."""
    totals: Counter = Counter()
    for r in range(size.race_rounds):
        sandbox.sh("nft", "flush", "ruleset")
        chain = Chain(launchers, conflist(f"race{r}", f"racebr{r}", f"10.73.{r}.0/24"))
        baseline = state.snapshot()
        names = [sandbox.unique("race-") for _ in range(size.racers)]
        paths = [sandbox.add_netns(name) for name in names]
        barrier = threading.Barrier(size.racers)
        counts: Counter = Counter()
        ok = []

        threads = [
            threading.Thread(
                target=_race_add,
                args=(chain, f"race-{r}-{i}", paths[i], 31000 + i, barrier, counts, ok, findings),
            )
            for i in range(size.racers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bridges = [
            n for n, (kind, _) in state.read_links(None).items() if kind == "bridge" and n == f"racebr{r}"
        ]
        tables = sorted(state.read_ruleset())
        for i in range(size.racers):
            try:
                chain.delete(chain.runtime(f"race-{r}-{i}", paths[i], port=31000 + i))
            except Exception as err:  # noqa: BLE001
                findings.add(
                    "concurrency", "del-failed", f"DEL after race failed: {str(err)[:140]}", str(err)
                )
        for name in names:
            sandbox.del_netns(name)
        residue = state.residue(state.diff(baseline, state.snapshot()))
        for change in residue:
            findings.add("concurrency", "residue", f"after a race round: {change.category}", change.what)
        totals["rounds"] += 1
        totals["racing ADDs"] += size.racers
        totals["racing ADDs ok"] += len(ok)
        totals["bridges made (want 1 per round)"] += len(bridges)
        totals["residue"] += len(residue)
        totals.update(counts)
        if len(bridges) != 1:
            findings.add(
                "concurrency", "race-bridge", f"round {r}: {len(bridges)} bridges named racebr{r}", ""
            )
        for needed in ("ip cni_hostport", "inet cni_plugins_masquerade"):
            if needed not in tables:
                findings.add(
                    "concurrency",
                    "race-table",
                    f"round {r}: nft table {needed} missing after racing ADDs",
                    str(tables),
                )
    print(f"  concurrency races: {dict(totals)}", flush=True)
    return dict(totals)
