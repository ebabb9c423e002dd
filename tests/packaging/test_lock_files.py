"""The lock files (requirements.lock, requirements-dev.lock) match pyproject.toml: every declared
dependency is pinned with hashes, and a change to the declarations makes the check fail."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _lock_digest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock_digest", ROOT / "scripts/lock_digest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lock_digest"] = module
    spec.loader.exec_module(module)
    return module


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if m := PIN.match(line):
            pins[_canon(m.group(1))] = m.group(2)
    return pins


def _requirement_name(requirement: str) -> str:
    m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert m is not None, requirement
    return _canon(m.group(0))


def test_locks_are_generated_from_pyproject_as_it_is() -> None:
    stale = _lock_digest().stale_locks(ROOT)
    assert stale == [], f"{stale} stale: run ./scripts/lock.sh after changing pyproject.toml"


def test_every_declared_dependency_is_pinned_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    for requirement in project["dependencies"]:
        assert _requirement_name(requirement) in runtime, requirement
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert _requirement_name(requirement) in dev, requirement
    # the image's runtime set is the dev set's versions, never a different resolution
    assert {k: dev[k] for k in runtime} == runtime
    for name in ("requirements.lock", "requirements-dev.lock"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / name).read_text())
        pinned = [b for b in blocks if PIN.match(b)]
        assert pinned and all("--hash=sha256:" in b for b in pinned), name


@pytest.mark.parametrize(
    "edit",
    [
        ('"httpx>=0.27,<1",', '"httpx>=0.28,<1",'),  # a runtime range
        ('"ruff>=0.6,<1",', '"ruff>=0.6,<1",\n    "orjson>=3",'),  # a new dev dependency
        ('requires-python = ">=3.11,<3.14"', 'requires-python = ">=3.12,<3.14"'),
    ],
)
def test_a_changed_declaration_makes_the_locks_stale(tmp_path: Path, edit: tuple[str, str]) -> None:
    for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    module = _lock_digest()
    assert module.stale_locks(tmp_path) == []
    text = (tmp_path / "pyproject.toml").read_text()
    assert edit[0] in text
    (tmp_path / "pyproject.toml").write_text(text.replace(edit[0], edit[1]))
    assert module.stale_locks(tmp_path) == ["requirements.lock", "requirements-dev.lock"]


def test_formatting_and_comments_do_not_make_the_locks_stale(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    text = (tmp_path / "pyproject.toml").read_text()
    text = text.replace('"httpx>=0.27,<1",', '"httpx >= 0.27, < 1",  # spaced out')
    (tmp_path / "pyproject.toml").write_text(text + "\n# a comment\n")
    assert _lock_digest().stale_locks(tmp_path) == []
