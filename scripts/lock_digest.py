"""Digest of the dependency declarations in pyproject.toml, stored in the lock file headers.

``python scripts/lock_digest.py`` prints the digest; ``--check`` exits 1 (naming the command to
run) when requirements.lock or requirements-dev.lock was generated from other declarations.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-dev.lock")
HEADER = "# pyproject-dependencies-sha256: "


def pyproject_digest(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """SHA-256 of what the locks are compiled from: requires-python, the runtime dependencies,
    every optional extra and the build requirements (order-insensitive, whitespace-insensitive)."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data.get("project", {})

    def norm(items: list[str]) -> list[str]:
        return sorted("".join(item.split()).lower() for item in items)

    declared = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": norm(project.get("dependencies", [])),
        "optional-dependencies": {
            name: norm(items) for name, items in project.get("optional-dependencies", {}).items()
        },
        "build-system": norm(data.get("build-system", {}).get("requires", [])),
    }
    canonical = json.dumps(declared, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_digest(lock: Path) -> str | None:
    """The digest recorded in a lock file's header, or None when it has none."""
    if not lock.is_file():
        return None
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(HEADER):
            return line[len(HEADER) :].strip()
        if line and not line.startswith("#"):
            break
    return None


def stale_locks(root: Path = ROOT) -> list[str]:
    """Names of the lock files that are missing or not generated from pyproject.toml as it is."""
    want = pyproject_digest(root / "pyproject.toml")
    return [name for name in LOCKS if stored_digest(root / name) != want]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_locks()
        if stale:
            print(
                f"error: {', '.join(stale)} out of date with pyproject.toml; "
                "regenerate with ./scripts/lock.sh",
                file=sys.stderr,
            )
            return 1
        return 0
    print(pyproject_digest())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
