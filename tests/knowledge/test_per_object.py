"""PerObject: the one bounded, identity-keyed memo the hot-path lookup tables share."""

from __future__ import annotations

import pytest

from app.knowledge.per_object import BoundedMemo, PerObject


class Frozen:
    def __init__(self, name: str) -> None:
        self.name = name


def test_builds_once_per_object() -> None:
    calls: list[str] = []

    def build(o: Frozen) -> str:
        calls.append(o.name)
        return o.name.upper()

    memo = PerObject(build)
    a = Frozen("a")
    assert memo(a) == "A"
    assert memo(a) == "A"
    assert calls == ["a"]


def test_keys_by_identity_not_equality() -> None:
    memo: PerObject[Frozen, list[Frozen]] = PerObject(lambda o: [o])
    first, second = Frozen("x"), Frozen("x")
    assert memo(first)[0] is first
    assert memo(second)[0] is second  # an equal-looking but different object: built anew


def test_drops_everything_when_full() -> None:
    calls: list[str] = []

    def build(o: Frozen) -> str:
        calls.append(o.name)
        return o.name

    memo = PerObject(build, limit=2)
    objs = [Frozen(n) for n in "abc"]
    for o in objs:
        memo(o)
    assert calls == ["a", "b", "c"]
    memo(objs[2])  # kept after the clear
    memo(objs[0])  # dropped by the clear: built again
    assert calls == ["a", "b", "c", "a"]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PerObject[Frozen, Frozen](lambda o: o, limit=0)


def test_bounded_memo_misses_then_remembers() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(limit=4)
    assert memo.get("a") is None
    assert memo.put("a", 1) == 1
    assert memo.get("a") == 1


def test_bounded_memo_drops_everything_when_full() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(limit=2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("c", 3)  # full: cleared first
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (None, None, 3)
    with pytest.raises(ValueError, match="at least 1"):
        BoundedMemo[str, int](limit=0)
