"""How the benchmark configures the service (in-process and under uvicorn).

Environment ``test`` as asked; the settings below only keep the service self-contained and
are applied when the current ``Settings`` has them (the app evolves; unknown ones are skipped):

* client JWT authentication off (``auth_required=False``): a benchmark client has no trusted
  issuer, so per-request token verification is not part of these numbers;
* an audit HMAC secret and spool directory inside the temporary working directory;
* SQLite in the temporary working directory, migrated with Alembic when the app offers it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENV = {
    "VCF_CDS_ENVIRONMENT": "test",
    "VCF_CDS_AUTH_REQUIRED": "false",
    "VCF_CDS_AUDIT_SECRET": "bench-secret",
}
NOTE = (
    "environment `test`, client authentication off (`VCF_CDS_AUTH_REQUIRED=false`: JWT "
    "verification is not measured), SQLite and audit spool in a temporary directory"
)


def settings_kwargs(workdir: Path, database_url: str) -> dict[str, Any]:
    """Keyword arguments of ``Settings`` for an in-process app (only the fields it has)."""
    from app.settings import Settings

    wanted: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "auth_required": False,
        "audit_secret": "bench-secret",
        "audit_spool_dir": workdir / "spool",
    }
    return {k: v for k, v in wanted.items() if k in Settings.model_fields}


def inherited_env() -> dict[str, str]:
    """This process's environment without any ``VCF_CDS_*`` setting: a benchmarked server
    gets only the settings the benchmark gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("VCF_CDS_")}


def server_env(workdir: Path) -> dict[str, str]:
    """Environment for a uvicorn child (cwd ``workdir``, default SQLite URL)."""
    return {**ENV, "VCF_CDS_AUDIT_SPOOL_DIR": str(workdir / "spool")}


def migrate(database_url: str) -> str:
    """Apply the Alembic migrations when the app has them; returns what was done."""
    try:
        from app.db.migrate import upgrade
    except ImportError:
        return "no migrations in this app version"
    upgrade(database_url)
    return "migrated with Alembic"
