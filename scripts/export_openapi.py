"""Write the app's OpenAPI document to openapi/openapi.json, or check it is current (--check)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "openapi" / "openapi.json"


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from app.main import create_app
    from app.settings import Settings

    # the contract does not depend on the environment; build it without production secrets
    app = create_app(
        Settings(environment="test", auth_required=False, audit_secret="openapi-export")  # type: ignore[arg-type]
    )
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the file is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("openapi/openapi.json is stale: run .venv/bin/python scripts/export_openapi.py")
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
