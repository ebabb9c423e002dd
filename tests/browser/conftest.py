"""The browser-test stack, real processes on loopback, one per test session:
sekmet-fhir (seeded) <- the EHR simulator (SMART authorization server + FHIR proxy + EHR page)
<- the VCF-CDS service (``python -m app.serve``; its SMART app at /app/) <- Debian's chromium.

Locally a missing sekmet or chromium skips with the reason; in CI (CI=true) it fails."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser.ehr_sim import Client, DraftOrder, EhrSimulator, run_simulator
from tests.browser.scenario import MRI_ORDER, seed_resources_all
from tests.scaleout.cluster import Replica
from tests.support.fhir_server import in_ci, run_fhir_server, seed_resources
from tests.support.postgres import free_port

CHROMIUM = "/usr/bin/chromium"
# headless Debian chromium without any call home (no component updates, sync, QUIC probes)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEST_CLIENT = Client("sim-test-client", ("http://127.0.0.1:9/callback",))


@dataclass
class Stack:
    fhir_upstream: str  # sekmet's own base URL (the tests look behind the proxy with it)
    sim: EhrSimulator
    service_url: str
    workdir: Path


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("browser-stack")
    with run_fhir_server(workdir / "sekmet") as upstream:
        seed_resources(upstream, seed_resources_all())
        service_port = free_port()
        service_url = f"http://127.0.0.1:{service_port}"
        sim = EhrSimulator(
            upstream,
            clients=[TEST_CLIENT],
            cds_base=service_url,
            orders={"mri-lumbar": DraftOrder(**MRI_ORDER)},
        )
        with run_simulator(sim):
            auth_config = workdir / "trusted-issuers.json"
            auth_config.write_text(json.dumps({"issuers": [sim.issuer_config()]}))
            env = {k: v for k, v in os.environ.items() if not k.startswith("VCF_CDS_")}
            env |= {
                "VCF_CDS_ENVIRONMENT": "test",
                "VCF_CDS_DATABASE_URL": f"sqlite:///{workdir / 'service.db'}",
                "VCF_CDS_MIGRATE_ON_START": "true",
                "VCF_CDS_PUBLIC_BASE_URL": service_url,
                # the EHR signs each CDS Hooks call (ES384, kid, jti); the service trusts it
                "VCF_CDS_AUTH_REQUIRED": "true",
                "VCF_CDS_AUTH_CONFIG_FILE": str(auth_config),
                "VCF_CDS_AUDIT_SECRET": "browser-test-secret",
                "VCF_CDS_FHIR_SERVER_ALLOWLIST": json.dumps([sim.fhir_base]),
                "VCF_CDS_FHIR_FETCH_BUDGET_SECONDS": "15",
            }
            service = Replica("service", env, workdir, port=service_port)
            service.start()
            # install the app in the EHR: its client id and redirect URI, as it publishes them
            app = httpx.get(f"{service_url}/app/config.json", trust_env=False, timeout=30).json()
            sim.register_client(Client(app["clientId"], (f"{service_url}{app['redirectPath']}",)))
            try:
                yield Stack(upstream, sim, service_url, workdir)
            finally:
                service.stop_quietly()


def require_chromium() -> str:
    """Debian's chromium, or skip (locally) / fail (CI) with the reason."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"{CHROMIUM} is missing: run `bash scripts/install_chromium.sh`"
    if in_ci():
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def user_data_dir() -> Iterator[Path]:
    """A fresh, empty browser profile for each browser launched (one per test module)."""
    path = Path(tempfile.mkdtemp(prefix="vcf-cds-chromium-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
