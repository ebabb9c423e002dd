"""Per-client scoping through the ASGI app, authentication on, two CDS Clients and an admin
issuer, on SQLite and on PostgreSQL: a client reads only its own audit records (another's is a
404 exactly like an id never issued), gives feedback only on its own cards, and analytics count
only its own consults; an admin issuer reads everything. Plus: a request rejected as 400 does
not spend the token, every authenticated route spends it once, and 401/412 calls are audited
without patient data."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.recorder import AuditRecorder
from app.db.models import AuditRecord, Feedback
from tests.audit.support import PATIENT_ID, order_select_request
from tests.audit.test_api import consult_id_of
from tests.audit.test_recorder import wait_for
from tests.conftest import ClientFactory
from tests.security.sandbox_tokens import (
    BASE,
    SANDBOX_ISS,
    SANDBOX_JKU,
    Client,
    write_auth_config,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SERVICE = "/cds-services/vcf-order-select"

A = Client(SANDBOX_ISS, "ES384", "sandbox-es384", jku=SANDBOX_JKU)  # the sandbox's shape
B = Client("https://ehr-b.example.net", "RS384", "b-rs384", jku="https://ehr-b.example.net/jwks")
ADMIN = Client("https://ops.example.org", "ES384", "ops-1", role="admin")


@pytest.fixture
def app_client(make_client: ClientFactory, database_url: str, tmp_path: Path) -> TestClient:
    config = write_auth_config(
        tmp_path / "auth.json", [A.issuer_config(), B.issuer_config(), ADMIN.issuer_config()]
    )
    return make_client(
        environment="production",
        database_url=database_url,
        auth_required=True,
        auth_config_file=config,
        public_base_url=BASE,
    )


def recorder(client: TestClient) -> AuditRecorder:
    audit: AuditRecorder = client.app.state.audit  # type: ignore[attr-defined]
    return audit


def wait_for_records(client: TestClient, n: int) -> None:
    """Wait until ``n`` audit records are in the database (an entry may take the spool path
    on a loaded machine, so the recorder's queue being empty is not enough)."""

    def stored() -> bool:
        with db(client)() as s:
            return (s.scalar(select(func.count()).select_from(AuditRecord)) or 0) >= n

    assert wait_for(stored, timeout=30)
    assert recorder(client).wait_idle(10)


def db(client: TestClient) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    return factory


def call_hook(client: TestClient, who: Client) -> dict[str, Any]:
    r = client.post(SERVICE, json=order_select_request(), headers=who.bearer(SERVICE))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def get(client: TestClient, who: Client, path: str) -> Any:
    return client.get(path, headers=who.bearer(path))


def feedback(client: TestClient, who: Client, items: list[dict[str, Any]]) -> Any:
    path = f"{SERVICE}/feedback"
    return client.post(path, json={"feedback": items}, headers=who.bearer(path))


def dismissal(card: str) -> dict[str, Any]:
    """CDS Hooks 2.0 "overridden guidance without overrideReason"."""
    return {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-12-04T10:00:00Z"}


def test_clients_see_only_their_own_records(app_client: TestClient) -> None:
    body_a, body_b = call_hook(app_client, A), call_hook(app_client, B)
    consult_a, consult_b = consult_id_of(body_a), consult_id_of(body_b)
    wait_for_records(app_client, 2)

    # audit records: own 200, other's 404 indistinguishable from an id never issued
    own = get(app_client, A, f"/api/v1/audit/{consult_a}")
    assert own.status_code == 200 and own.json()["client_iss"] == A.iss
    assert get(app_client, B, f"/api/v1/audit/{consult_b}").json()["client_iss"] == B.iss
    foreign = get(app_client, B, f"/api/v1/audit/{consult_a}")
    never = get(app_client, B, f"/api/v1/audit/urn:uuid:{uuid.uuid4()}")
    assert foreign.status_code == never.status_code == 404
    assert foreign.json() == never.json()
    assert get(app_client, ADMIN, f"/api/v1/audit/{consult_a}").status_code == 200
    assert get(app_client, ADMIN, f"/api/v1/audit/{consult_b}").status_code == 200

    # feedback: B cannot touch A's card (404 like an unknown card, nothing stored) ...
    card_a = body_a["cards"][0]["uuid"]
    r = feedback(app_client, B, [dismissal(card_a)])
    unknown = feedback(app_client, B, [dismissal(str(uuid.uuid4()))])
    assert r.status_code == unknown.status_code == 404
    assert [i["diagnostics"] for i in r.json()["issue"]] == [
        i["diagnostics"] for i in unknown.json()["issue"]
    ]
    with db(app_client)() as s:
        assert s.scalars(select(Feedback)).all() == []
    # ... nor can the admin (it reads all, but feedback comes from the client that showed it)
    assert feedback(app_client, ADMIN, [dismissal(card_a)]).status_code == 404
    # A's plain dismissal of its own card is stored (0 lost feedback)
    assert feedback(app_client, A, [dismissal(card_a)]).status_code == 200
    with db(app_client)() as s:
        [stored] = s.scalars(select(Feedback)).all()
        assert (stored.card_uuid, stored.outcome, stored.override_code) == (
            card_a,
            "overridden",
            None,
        )

    # analytics: each client counts only its own consults; the admin counts all
    stats = {who.iss: get(app_client, who, "/api/v1/analytics").json() for who in (A, B, ADMIN)}
    assert stats[A.iss]["client_iss"] == A.iss and stats[B.iss]["client_iss"] == B.iss
    assert stats[ADMIN.iss]["client_iss"] is None
    assert stats[A.iss]["overall"]["cards_issued"] == len(body_a["cards"])
    assert stats[B.iss]["overall"]["cards_issued"] == len(body_b["cards"])
    assert stats[ADMIN.iss]["overall"]["cards_issued"] == len(body_a["cards"]) + len(
        body_b["cards"]
    )
    assert stats[A.iss]["overall"]["feedback_count"] == 1
    assert stats[A.iss]["overall"]["dismissed_without_reason"] == 1
    assert stats[A.iss]["overall"]["overridden_count"] == 1
    assert stats[B.iss]["overall"]["feedback_count"] == 0
    assert stats[B.iss]["orders_rated"] == 1 and stats[ADMIN.iss]["orders_rated"] == 2


def test_a_request_rejected_as_400_does_not_spend_the_token(app_client: TestClient) -> None:
    headers = A.bearer(SERVICE)
    bad = order_select_request()
    bad["context"]["patientId"] = "p1\n"
    r = app_client.post(SERVICE, json=bad, headers=headers)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["context.patientId"]
    schema_error = {k: v for k, v in order_select_request().items() if k != "context"}
    assert app_client.post(SERVICE, json=schema_error, headers=headers).status_code == 400
    # the corrected retry with the same token is answered; a replay after that is not
    assert app_client.post(SERVICE, json=order_select_request(), headers=headers).status_code == 200
    replay = app_client.post(SERVICE, json=order_select_request(), headers=headers)
    assert replay.status_code == 401 and replay.content == b""


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/cds-services", None),
        ("POST", SERVICE, "hook"),
        ("POST", f"{SERVICE}/feedback", {"feedback": [dismissal("no-such-card")]}),
        ("GET", "/api/v1/analytics", None),
        ("GET", "/api/v1/audit/urn:uuid:00000000-0000-0000-0000-000000000000", None),
        ("POST", "/api/v1/assessments", {"resourceType": "Bundle", "type": "collection"}),
    ],
)
def test_every_authenticated_route_spends_the_token_once(
    app_client: TestClient, method: str, path: str, body: Any
) -> None:
    payload = order_select_request() if body == "hook" else body
    headers = A.bearer(path)
    first = app_client.request(method, path, json=payload, headers=headers)
    assert first.status_code in (200, 404), first.text
    again = app_client.request(method, path, json=payload, headers=headers)
    assert again.status_code == 401 and again.content == b""


def test_401_and_412_are_audited_without_patient_data(app_client: TestClient) -> None:
    stranger = Client("https://stranger.example.com", "ES384", "x")
    assert (
        app_client.post(
            SERVICE, json=order_select_request(), headers=stranger.bearer(SERVICE)
        ).status_code
        == 401
    )
    incomplete = order_select_request()
    del incomplete["prefetch"]["observations"]  # required, and no fhirServer to fetch it from
    r = app_client.post(SERVICE, json=incomplete, headers=A.bearer(SERVICE))
    assert r.status_code == 412
    wait_for_records(app_client, 2)
    with db(app_client)() as s:
        rows = {row.status_code: row for row in s.scalars(select(AuditRecord))}
    assert set(rows) == {401, 412}
    unauthorized, missing = rows[401], rows[412]
    assert (unauthorized.error, unauthorized.client_iss) == ("untrusted_iss", None)
    assert (unauthorized.service, unauthorized.hook) == ("vcf-order-select", "order-select")
    assert (missing.error, missing.client_iss) == ("required_data_unavailable", A.iss)
    assert missing.hook_instance == incomplete["hookInstance"]
    for row in (unauthorized, missing):
        assert row.patient_hmac is None and row.cards == [] and row.system_actions == []
        assert PATIENT_ID not in repr(vars(row))
    # the 412 record is the client's own: it can read it
    assert get(app_client, A, f"/api/v1/audit/{missing.consult_id}").json()["status_code"] == 412
