"""The package layering contract (pyproject ``[tool.importlinter]``, CONTRIBUTING.md): the
app keeps it, and the checker really catches each kind of violation planted in a copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = ("layers", "clinical-pure", "clinical-no-io", "http-in-api", "no-cycles")


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``app`` package under ``project`` with its pyproject contract."""
    env = {**os.environ, "PYTHONPATH": str(project)}  # the copy, not the installed project
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_app_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_every_contract_is_declared() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ids = [c["id"] for c in config["tool"]["importlinter"]["contracts"]]
    assert tuple(ids) == CONTRACTS


def _plant(project: Path, module: str, source: str) -> None:
    path = project.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(source, encoding="utf-8")


def test_planted_violations_break_each_contract(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(ROOT / "app", project / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(ROOT / "pyproject.toml", project / "pyproject.toml")
    assert lint_imports(project).returncode == 0  # the copy keeps the contract as it is

    _plant(project, "app.clinical.zz_web", "from fastapi import Request\n")
    _plant(project, "app.clinical.zz_disk", "import pathlib\n")
    _plant(project, "app.knowledge.zz_up", "import app.assessment.service\n")
    _plant(project, "app.audit.zz_http", "import starlette.requests\n")
    _plant(project, "app.cards.zz_cycle_a", "import app.cards.zz_cycle_b\n")
    _plant(project, "app.cards.zz_cycle_b", "import app.cards.zz_cycle_a\n")
    result = lint_imports(project)
    out = result.stdout

    assert result.returncode == 1, out + result.stderr
    assert f"Contracts: 0 kept, {len(CONTRACTS)} broken." in out
    # each planted import is named by the contract it breaks
    assert "app.knowledge is not allowed to import app.assessment" in out  # layers
    assert "app.knowledge.zz_up -> app.assessment.service" in out
    assert "app.clinical is not allowed to import fastapi" in out  # clinical-pure, http-in-api
    assert "app.clinical is not allowed to import pathlib" in out  # clinical-no-io
    assert "app.audit is not allowed to import starlette" in out  # http-in-api
    assert ".zz_cycle_a -> .zz_cycle_b" in out or ".zz_cycle_b -> .zz_cycle_a" in out  # no-cycles


def test_a_cycle_between_packages_is_caught(tmp_path: Path) -> None:
    """The cycle issue 7 found (app.audit <-> app.db) breaks the layers and the cycle contract."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(ROOT / "app", project / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(ROOT / "pyproject.toml", project / "pyproject.toml")
    _plant(project, "app.db.zz_audit", "import app.audit.recorder\n")
    out = lint_imports(project).stdout

    assert "app.db is not allowed to import app.audit" in out
    assert "Contracts: 3 kept, 2 broken." in out
    assert ".db -> .audit" in out
