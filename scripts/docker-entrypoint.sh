#!/bin/sh
# Container entry point (Dockerfile ENTRYPOINT): check the configuration the service needs and say
# what is missing, all at once, before starting; then run uvicorn. Writes only under
# VCF_CDS_DATA_DIR (the image's VOLUME /data: the SQLite file and the audit spool).
# Variables: docs/container.md. Exit 78 (EX_CONFIG) when the configuration is incomplete.
set -eu

data_dir=${VCF_CDS_DATA_DIR:-/data}
environment=${VCF_CDS_ENVIRONMENT:-production}
spool_dir=${VCF_CDS_AUDIT_SPOOL_DIR:-$data_dir/spool}
export VCF_CDS_AUDIT_SPOOL_DIR="$spool_dir"
export VCF_CDS_DATABASE_URL="${VCF_CDS_DATABASE_URL:-sqlite:///$data_dir/vcf_cds.db}"

problems=""
problem() {
  problems="$problems
  - $1"
}

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

case "$environment" in
  development | test | production) ;;
  *) problem "VCF_CDS_ENVIRONMENT must be development, test or production (got '$environment')" ;;
esac

if [ "$environment" = production ] && [ -z "${VCF_CDS_AUDIT_SECRET:-}" ]; then
  problem "VCF_CDS_AUDIT_SECRET is not set: in production it keys the HMAC of patient ids in the audit trail (a random secret of 32+ bytes, e.g. \`openssl rand -hex 32\`; keep it stable across restarts)"
fi

auth=${VCF_CDS_AUTH_REQUIRED:-}
case "$(lower "$auth")" in
  "") [ "$environment" = development ] && auth_on=no || auth_on=yes ;;
  1 | true | yes | on) auth_on=yes ;;
  0 | false | no | off) auth_on=no ;;
  *) problem "VCF_CDS_AUTH_REQUIRED must be true or false (got '$auth')"; auth_on=no ;;
esac
if [ "$auth_on" = yes ]; then
  config=${VCF_CDS_AUTH_CONFIG_FILE:-}
  if [ -z "$config" ]; then
    problem "VCF_CDS_AUTH_CONFIG_FILE is not set: client authentication is on, so mount the trusted-issuers JSON file (README, \"Client authentication\") read-only and set VCF_CDS_AUTH_CONFIG_FILE to its path, e.g. -v \$PWD/issuers.json:/config/issuers.json:ro -e VCF_CDS_AUTH_CONFIG_FILE=/config/issuers.json"
  elif [ ! -r "$config" ]; then
    problem "VCF_CDS_AUTH_CONFIG_FILE=$config cannot be read by uid $(id -u): mount the trusted-issuers file there"
  fi
fi

case "$VCF_CDS_DATABASE_URL" in
  sqlite:*) needs_data_dir=yes ;;
  *) needs_data_dir=no ;;
esac
if [ "$needs_data_dir" = yes ] || [ "${spool_dir#"$data_dir"}" != "$spool_dir" ]; then
  probe="$data_dir/.vcf-cds-write-test.$$"
  if ! mkdir -p "$data_dir" 2>/dev/null || ! : >"$probe" 2>/dev/null; then
    problem "$data_dir is not writable by uid $(id -u): mount a volume there (e.g. -v vcf-cds-data:/data) that this uid may write (the SQLite file and the audit spool live there)"
  fi
  rm -f "$probe"
fi
if ! mkdir -p "$spool_dir" 2>/dev/null || [ ! -w "$spool_dir" ]; then
  problem "the audit spool directory $spool_dir (VCF_CDS_AUDIT_SPOOL_DIR) is not writable by uid $(id -u)"
fi

if [ -n "$problems" ]; then
  printf 'vcf-cds: cannot start, the configuration is incomplete:%s\nSee docs/container.md for every variable.\n' "$problems" >&2
  exit 78
fi

if [ $# -gt 0 ]; then
  exec "$@" # e.g. `docker run ... vcf-cds alembic upgrade head`
fi
exec python -m uvicorn app.main:app --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" \
  --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
