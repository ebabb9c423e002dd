"""``fast_init`` keeps a frozen dataclass what ``dataclasses`` made it, only faster to build."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from app.assessment.state import StateInput
from app.clinical.fast_init import fast_init
from app.clinical.findings import Finding, HistoryFact, InputIssue
from app.clinical.scoring import ComponentScore


@dataclass(frozen=True)
class _Reference:
    code: str
    value: object
    sources: tuple[str, ...] = ()
    level: str | None = None


@fast_init
@dataclass(frozen=True)
class _Fast:
    code: str
    value: object
    sources: tuple[str, ...] = ()
    level: str | None = None


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a", 1), {}), (("a", None, ("x",)), {"level": "L1"}), ((), {"code": "b", "value": 2.5})],
)
def test_same_instance_as_the_generated_init(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    fast, ref = _Fast(*args, **kwargs), _Reference(*args, **kwargs)  # type: ignore[arg-type]
    assert dataclasses.asdict(fast) == dataclasses.asdict(ref)
    assert repr(fast).replace("_Fast", "_Reference") == repr(ref)
    assert fast == _Fast(*args, **kwargs) and hash(fast) == hash(_Fast(*args, **kwargs))  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(fast)) == fast
    assert dataclasses.replace(fast, code="z").code == "z"
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.code = "c"  # type: ignore[misc]


def test_wrong_arguments_still_fail() -> None:
    with pytest.raises(TypeError):
        _Fast()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _Fast("a", 1, (), None, "extra")  # type: ignore[call-arg]


def test_only_plain_frozen_dataclasses() -> None:
    @dataclass
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Slots:
        a: int

    @dataclass(frozen=True)
    class Post:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, Factory, Slots, Post):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_the_hot_value_objects() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    f = Finding("vcf", True, ("Observation/1",), "L1", None, when)
    assert (f.code, f.value, f.sources, f.level, f.unit, f.effective, f.from_text) == (
        "vcf",
        True,
        ("Observation/1",),
        "L1",
        None,
        when,
        False,
    )
    assert HistoryFact(None).sources == ()
    assert InputIssue("warning", "x", "m") == InputIssue("warning", "x", "m")
    assert StateInput(True, ()).note is None
    assert ComponentScore("a", None, None) == ComponentScore(id="a", value=None, points=None)
