"""Issue 10.8, each smaller defect through the ASGI app: NUL in the audit path, NUL and control
characters in ``hookInstance``, ``fhirServer`` userinfo in the logs, patient ids with a newline
or made of dots, integers for REST booleans. The database ones run on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.recorder import AuditRecorder
from app.db.models import AuditRecord
from tests.audit.support import order_select_request
from tests.audit.test_recorder import wait_for
from tests.conftest import ClientFactory

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SERVICE = "/cds-services/vcf-order-select"


@pytest.fixture
def db_client(make_client: ClientFactory, database_url: str) -> TestClient:
    """The app (authentication off) on a migrated SQLite or PostgreSQL database."""
    return make_client(database_url=database_url, raise_server_exceptions=False)


def audit_rows(client: TestClient, at_least: int) -> int:
    """Audit rows once ``at_least`` are stored (an entry may take the spool path first)."""
    audit: AuditRecorder = client.app.state.audit  # type: ignore[attr-defined]
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]

    def count() -> int:
        with factory() as s:
            return int(s.scalar(select(func.count()).select_from(AuditRecord)) or 0)

    assert wait_for(lambda: count() >= at_least, timeout=30)
    assert audit.wait_idle(10)
    return count()


@pytest.mark.parametrize(
    "consult_id", ["urn:uuid:%00", "%00", "urn%3Auuid%3Aabc%00def", "x" * 65, "a%0Ab"]
)
def test_unstorable_audit_id_is_a_404_not_a_500(db_client: TestClient, consult_id: str) -> None:
    r = db_client.get(f"/api/v1/audit/{consult_id}")
    assert r.status_code == 404, r.text
    assert r.json()["detail"][0]["loc"] == ["path", "consult_id"]


@pytest.mark.parametrize(
    "hook_instance", ["a\x00b", "line\nbreak", "tab\there", "", "x" * 129], ids=repr
)
def test_unstorable_hook_instance_is_a_400_naming_it(
    db_client: TestClient, hook_instance: str
) -> None:
    """Chosen: reject (400) rather than store altered; every answered call has its audit row."""
    req = order_select_request()
    req["hookInstance"] = hook_instance
    r = db_client.post(SERVICE, json=req)
    assert r.status_code == 400, r.text
    assert r.json()["issue"][0]["expression"] == ["hookInstance"]
    ok = db_client.post(SERVICE, json=order_select_request())
    assert ok.status_code == 200
    assert audit_rows(db_client, at_least=1) == 1  # only the answered call


@pytest.mark.parametrize("patient_id", ["p1\n", "..", ".", "...", "a/b", "p 1", "x" * 65, 7])
def test_patient_id_must_be_a_fhir_id(client: TestClient, patient_id: Any) -> None:
    req = order_select_request()
    req["context"]["patientId"] = patient_id
    r = client.post(SERVICE, json=req)
    assert r.status_code == 400, r.text
    assert r.json()["issue"][0]["expression"] == ["context.patientId"]


@pytest.mark.parametrize("patient_id", ["p1", "a.b", "A-1.2", "x" * 64])
def test_valid_fhir_ids_are_accepted(client: TestClient, patient_id: str) -> None:
    req = order_select_request()
    req["context"]["patientId"] = patient_id
    assert client.post(SERVICE, json=req).status_code == 200


def test_fhir_server_userinfo_never_reaches_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    req = order_select_request()
    del req["prefetch"]["observations"]  # must be fetched
    req["fhirServer"] = "https://alice:s3cr3t-pw@ehr.example.org:8443/fhir/Patient?name=x"
    with caplog.at_level(logging.DEBUG):
        r = client.post(SERVICE, json=req)
    assert r.status_code == 412
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "ehr.example.org:8443" in logged  # the host is still named
    for secret in ("alice", "s3cr3t-pw", "name=x", "/fhir"):
        assert secret not in logged


@pytest.mark.parametrize("value", [0, 1, "false", "true", "no", 0.0])
@pytest.mark.parametrize(
    ("path", "field", "base"),
    [
        ("/api/v1/acr/match", "vcf_present", {}),
        ("/api/v1/scores/mri-malignancy", "fluid_cleft", {}),
    ],
)
def test_rest_booleans_are_strict(
    client: TestClient, path: str, field: str, base: dict[str, Any], value: Any
) -> None:
    r = client.post(path, json={**base, field: value})
    assert r.status_code == 422, r.text
    assert [d["loc"] for d in r.json()["detail"]] == [["body", field]]
    assert client.post(path, json={**base, field: False}).status_code == 200
