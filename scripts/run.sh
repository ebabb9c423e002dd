#!/usr/bin/env bash
# Run the service on http://127.0.0.1:8000 with SQLite in the working directory (development mode).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export VCF_CDS_ENVIRONMENT="${VCF_CDS_ENVIRONMENT:-development}"
if [ "$VCF_CDS_ENVIRONMENT" = "development" ]; then
  echo "WARNING: development mode - CDS client authentication is OFF; do not use real patient data" >&2
fi
.venv/bin/alembic upgrade head
exec .venv/bin/uvicorn app.main:app --host 127.0.0.1 --port "${PORT:-8000}"
