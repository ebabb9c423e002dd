"""Load and validate the knowledge files; a bad file stops start-up with a clear message."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from app.knowledge.schema import Knowledge, Manifest

DATA_DIR = Path(__file__).parent / "data"

_FILES = {
    "acr": "acr_vcf.json",
    "mri_score": "mri_malignancy_score.json",
    "sins": "sins.json",
    "anatomy": "anatomy.json",
    "thresholds": "thresholds.json",
    "policies": "policies.json",
    "sign_evidence": "sign_evidence.json",
    "red_flags": "red_flags.json",
    "considerations": "considerations.json",
    "publications": "publications.json",
    "card_policy": "card_policy.json",
}


class KnowledgeError(RuntimeError):
    """A knowledge file is missing, unreadable or invalid."""


def _read(path: Path) -> object:
    """The parsed JSON of ``path`` (its shape is for the schema to check)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KnowledgeError(f"knowledge file missing: {path}") from exc
    except json.JSONDecodeError as exc:
        raise KnowledgeError(f"knowledge file {path.name} is not valid JSON: {exc}") from exc


def load_knowledge(data_dir: Path = DATA_DIR) -> Knowledge:
    """Read every file named in the manifest and validate them together.

    The version is ``<manifest version>+<first 12 hex of the SHA-256 of all files>`` so a
    silent edit of a data file changes the stated version.
    """
    try:
        manifest = Manifest.model_validate(_read(data_dir / "manifest.json"))
    except ValidationError as exc:
        raise KnowledgeError(f"manifest.json is invalid:\n{exc}") from exc
    if sorted(manifest.files) != sorted(_FILES.values()):
        raise KnowledgeError(f"manifest.json must list exactly {sorted(_FILES.values())}")
    digest = hashlib.sha256()
    raw: dict[str, object] = {}
    for key, filename in _FILES.items():
        path = data_dir / filename
        digest.update(filename.encode() + b"\0" + path.read_bytes() if path.exists() else b"")
        raw[key] = _read(path)
    version = f"{manifest.knowledge_version}+{digest.hexdigest()[:12]}"
    try:
        return Knowledge.model_validate({"version": version, **raw})
    except ValidationError as exc:
        raise KnowledgeError(f"knowledge files are invalid:\n{exc}") from exc


@lru_cache(maxsize=1)
def default_knowledge() -> Knowledge:
    """The packaged knowledge, loaded once per process."""
    return load_knowledge()
