"""Values derived once per frozen knowledge object, for the hot path.

Knowledge objects are frozen after start-up validation, so a lookup table derived from one
never goes stale. ``PerObject`` keys the derived value by the object's identity (checking it
is the same object, since an id can be reused after garbage collection), keeps at most
``limit`` objects (one per knowledge version in practice) and drops them all when full:
clearing instead of evicting needs no lock across the decision threads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")


class PerObject(Generic[T, V]):
    """``build(obj)``, built once per object and remembered (at most ``limit`` objects)."""

    __slots__ = ("_build", "_limit", "_made")

    def __init__(self, build: Callable[[T], V], limit: int = 4) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._build = build
        self._limit = limit
        self._made: dict[int, tuple[T, V]] = {}

    def __call__(self, obj: T) -> V:
        found = self._made.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        value = self._build(obj)
        if len(self._made) >= self._limit:  # clear, not evict: safe across threads
            self._made.clear()
        self._made[id(obj)] = (obj, value)
        return value


K = TypeVar("K")


class BoundedMemo(Generic[K, V]):
    """Values remembered by key, at most ``limit`` of them, all dropped when full (the same
    lock-free rule as ``PerObject``). ``None`` is never stored: ``get`` returns it for a miss."""

    __slots__ = ("_limit", "_values")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` for ``key`` and return it."""
        if len(self._values) >= self._limit:  # clear, not evict: safe across threads
            self._values.clear()
        self._values[key] = value
        return value
