"""Undo steps for a failing ADD (Go's `defer if !success`), run newest first."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType


class Rollback:
    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], object]]] = []

    def push(self, what: str, step: Callable[[], object]) -> None:
        self._steps.append((what, step))

    def __enter__(self) -> Rollback:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            return
        for what, step in reversed(self._steps):
            try:
                step()
            except Exception as err:  # noqa: BLE001 - the original error is the one to report
                sys.stderr.write(f"rollback: {what} failed: {err}\n")
