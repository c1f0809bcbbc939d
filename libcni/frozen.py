"""Immutable records without `dataclasses` (which costs ~15 ms of a cold call: inspect, ast, re).

A subclass names its fields in `__slots__` and passes their values, in that order, to
`Frozen.__init__`; it gets what `@dataclass(frozen=True)` gives: read-only fields, equality and
hashing by value (only with the same class), a repr naming the fields, copy and pickle.
"""

from __future__ import annotations


class Frozen:
    __slots__: tuple[str, ...] = ()

    def __init__(self, *values: object) -> None:
        if len(values) != len(self.__slots__):
            raise TypeError(f"{type(self).__name__} takes {len(self.__slots__)} values, not {len(values)}")
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field '{name}'")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field '{name}'")

    def values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.values() == other.values()

    def __hash__(self) -> int:
        return hash(self.values())

    def __reduce__(self) -> tuple[type, tuple]:
        return (type(self), self.values())  # copy and pickle build it anew (its fields are read-only)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"
