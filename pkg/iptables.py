"""iptables / ip6tables through the binaries, like Go's go-iptables (with --wait)."""

from __future__ import annotations

from collections.abc import Sequence

from libcni.types.errors import CNIError, ErrCode

from .command import Completed, run, run_parallel

TYPE_CHECKING = False  # not `typing`'s: importing it costs ~2-3 ms of a cold call
if TYPE_CHECKING:
    from typing import Self


class IptablesError(CNIError):
    def __init__(self, msg: str, exit_status: int, stderr: str) -> None:
        super().__init__(ErrCode.INTERNAL, msg)
        self.exit_status = exit_status
        self.stderr = stderr

    @property
    def not_exist(self) -> bool:
        """Go's IsNotExist: chain, rule or target missing."""
        text = self.stderr
        return self.exit_status == 1 and (
            "does not exist" in text
            or "No chain/target/match by that name" in text
            or "Bad rule (does a matching rule exist" in text
            or "No such file or directory" in text
        )


def binary(ipv6: bool) -> str:
    return "ip6tables" if ipv6 else "iptables"


def iptables(args: Sequence[str], ipv6: bool = False, table: str = "nat") -> str:
    """Run one iptables command; return stdout, raise IptablesError on failure."""
    argv = [binary(ipv6), "--wait", "-t", table, *args]
    proc = run(argv)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise IptablesError(
            f"running {argv} failed: exit status {proc.returncode}: {stderr}", proc.returncode, stderr
        )
    return proc.stdout.decode(errors="replace")


def restore(lines: Sequence[str], ipv6: bool = False) -> None:
    """Apply an iptables-restore script (one table, COMMIT included) without flushing others."""
    argv = [binary(ipv6) + "-restore", "--noflush", "--wait"]
    proc = run(argv, stdin="\n".join(lines) + "\n")
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise IptablesError(f"{argv[0]} failed: {stderr}", proc.returncode, stderr)


def restore_argv(family: int) -> list[str]:
    """iptables-restore of family 4 or 6 adding to what is there, waiting for the xtables lock."""
    return [binary(family == 6) + "-restore", "--noflush", "--wait"]


def failed_line(stderr: str) -> int | None:
    """The 1-based batch line iptables-restore complained about ("line 3 failed", "line: 3")."""
    import re  # an error path: the regex engine is not loaded by a call that succeeds

    found = re.search(r"line:? (\d+)", stderr)
    return int(found.group(1)) if found else None


def restore_all(batches: dict[int, list[str]]) -> dict[int, str]:
    """Apply each family's batch (4, 6) side by side, one atomic `iptables-restore --noflush` each;
    the error text of those that failed, naming the batch line it refers to."""
    families = tuple(batches)
    argvs = [(restore_argv(f), "\n".join(batches[f]) + "\n") for f in families]
    errors: dict[int, str] = {}
    for family, proc in zip(families, run_parallel(argvs), strict=True):
        if proc.returncode == 0:
            continue
        stderr = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        text = f"{proc.args[0]} failed: {stderr}"
        number = failed_line(stderr)
        if number is not None and 0 < number <= len(batches[family]):
            text += f" (in: {batches[family][number - 1]})"
        errors[family] = text
    return errors


def save(table: str = "nat", ipv6: bool = False) -> str:
    """One table as iptables-save prints it (chains as `:NAME`, rules as `-A ...` lines)."""
    argv = [binary(ipv6) + "-save", "-t", table]
    proc = run(argv)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        raise IptablesError(f"{argv[0]} failed: {stderr}", proc.returncode, stderr)
    return proc.stdout.decode(errors="replace")


def _missing_chain(exit_status: int, stderr: str) -> bool:
    """`iptables -S CHAIN` of a chain that does not exist: "No chain/target/match by that name", or
    (iptables-nft 1.8.9) "chain `X' in table `nat' is incompatible" with exit status 1."""
    return exit_status == 1 and ("No chain/target/match by that name" in stderr or "incompatible" in stderr)


ChainRules = list[str] | None | IptablesError


class SavedTable:
    """Chains of one table as `iptables-save` or `iptables -S CHAIN` print them: each chain's rule
    texts without the leading `-A CHAIN `. A chain that was not read is absent, as is one that does
    not exist. The one parser of saved rules: the plugins subclass it with their own questions."""

    TABLE: str | None = None  # parse(): only this table's section of a full iptables-save

    def __init__(self, chains: dict[str, list[str]] | None = None) -> None:
        self.chains: dict[str, list[str]] = chains if chains is not None else {}

    @classmethod
    def parse(cls, text: str) -> Self:
        table = cls()
        inside = cls.TABLE is None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("*"):
                inside = cls.TABLE is None or line == f"*{cls.TABLE}"
            elif not inside or not line or line.startswith("#") or line == "COMMIT":
                continue
            elif line.startswith(":"):
                table.chains.setdefault(line[1:].split()[0], [])
            elif line.startswith("-A "):
                _, chain, *rest = line.split(" ", 2)
                table.chains.setdefault(chain, []).append(rest[0] if rest else "")
        return table

    @classmethod
    def of_chains(cls, listed: dict[str, list[str] | None]) -> Self:
        """From `iptables -S CHAIN` listings (None: the chain does not exist)."""
        return cls({name: rules for name, rules in listed.items() if rules is not None})

    def has_chain(self, name: str) -> bool:
        return name in self.chains

    def rules_of(self, chain: str) -> list[str]:
        return self.chains.get(chain, [])

    def lines(self) -> list[str]:
        """Every rule as iptables-save prints it (`-A CHAIN ...`)."""
        return [f"-A {chain} {rule}" for chain, rules in self.chains.items() for rule in rules]

    def jumps_to(self, target: str) -> list[tuple[str, str]]:
        """(chain, rule text) of every rule jumping or going to `target`."""
        return [
            (chain, rule)
            for chain, rules in self.chains.items()
            if chain != target
            for rule in rules
            if jumps(rule, target)
        ]


def jumps(rule: str, target: str) -> bool:
    """Whether a rule's text holds `-j TARGET` or `-g TARGET` as whole words."""
    for flag in ("-j ", "-g "):
        needle = flag + target
        at = rule.find(needle)
        while at >= 0:
            end = at + len(needle)
            if (at == 0 or rule[at - 1].isspace()) and (end == len(rule) or rule[end].isspace()):
                return True
            at = rule.find(needle, at + 1)
    return False


def list_argv(chain: str, ipv6: bool, table: str = "nat") -> list[str]:
    return [binary(ipv6), "--wait", "-t", table, "-S", chain]


def parse_listing(chain: str, proc: Completed) -> ChainRules:
    """The result of `list_argv(chain)`: the chain's rules as iptables-save prints them without the
    leading `-A CHAIN `, None when the chain does not exist, or the error."""
    stderr = proc.stderr.decode(errors="replace").strip()
    if proc.returncode == 0:
        head = f"-A {chain} "
        text = proc.stdout.decode(errors="replace")
        return [line[len(head) :] for line in text.splitlines() if line.startswith(head)]
    if _missing_chain(proc.returncode, stderr):
        return None
    argv = " ".join(proc.args)
    return IptablesError(
        f"running [{argv}] failed: exit status {proc.returncode}: {stderr}", proc.returncode, stderr
    )


def list_chains(requests: Sequence[tuple[str, bool]], table: str = "nat") -> list[ChainRules]:
    """`iptables -S CHAIN` for each (chain, ipv6), side by side (see parse_listing): only those
    chains are read, so the cost does not grow with the rest of the table."""
    argvs = [(list_argv(chain, ipv6, table), None) for chain, ipv6 in requests]
    return [
        parse_listing(chain, proc) for (chain, _), proc in zip(requests, run_parallel(argvs), strict=True)
    ]


def available(ipv6: bool = False) -> bool:
    """Go's SupportsIPTables: the binary can list the nat table."""
    try:
        iptables(["-L", "OUTPUT", "-n"], ipv6, "nat")
    except IptablesError:
        return False
    return True
