# VCF-CDS service image (variables, volume and a first run: docs/container.md).
#   docker build -t vcf-cds .
#   docker run -p 8000:8000 -v vcf-cds-data:/data \
#     -e VCF_CDS_AUDIT_SECRET=... -e VCF_CDS_PUBLIC_BASE_URL=https://cds.example.org \
#     -v $PWD/issuers.json:/config/issuers.json:ro -e VCF_CDS_AUTH_CONFIG_FILE=/config/issuers.json \
#     vcf-cds
FROM python:3.11-slim

# Writes go only to the volume /data (SQLite file, audit spool); /app is read-only to the user.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    VCF_CDS_DATA_DIR=/data \
    VCF_CDS_DATABASE_URL=sqlite:////data/vcf_cds.db \
    VCF_CDS_AUDIT_SPOOL_DIR=/data/spool \
    VCF_CDS_MIGRATE_ON_START=true \
    PORT=8000

WORKDIR /app
# the pinned, hashed runtime lock (scripts/lock.sh): the image runs exactly what CI tested
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml alembic.ini ./
COPY alembic ./alembic
COPY app ./app
COPY scripts/docker-entrypoint.sh /usr/local/bin/vcf-cds-entrypoint
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vcf \
    && mkdir -p /data/spool \
    && chown -R 10001:10001 /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health/ready' % os.environ.get('PORT', '8000'), timeout=2).status == 200 else 1)"
ENTRYPOINT ["/usr/local/bin/vcf-cds-entrypoint"]
