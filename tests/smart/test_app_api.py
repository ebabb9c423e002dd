"""POST /app/api/assessment (the SMART app's backend) through the ASGI app against a real FHIR
server on loopback (sekmet-fhir), and a token-checking loopback gate in front of it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.fhir_builders import PATIENT, condition, obs, patient, procedure
from tests.support.fhir_server import FHIR_JSON, run_fhir_server, seed_resources

MRI_WITHOUT = {
    "system": "http://www.ama-assn.org/go/cpt",
    "code": "72148",
    "display": "MRI lumbar spine without contrast",
}
TOKEN = "launch-token-6f1c"  # an opaque EHR access token


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """New VCF at L3, no cancer in the Conditions; whether it is symptomatic is not recorded
    (ACR variant 1 is possible, not certain)."""
    with run_fhir_server(tmp_path_factory.mktemp("sekmet-smart")) as base:
        seed_resources(
            base,
            [
                patient(),
                obs("o-vcf", "vcf", True, "L3"),
                obs("o-acute", "vcf-acute", True, "L3"),
                obs("o-mult", "multiple-vcfs", False),
                condition("c-op", "M81.0"),
                procedure("pr-other", "99213"),
            ],
        )
        yield base


class _TokenGate(BaseHTTPRequestHandler):
    """A FHIR endpoint that requires the bearer token and forwards GETs to sekmet."""

    upstream: ClassVar[str] = ""
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        self.seen.append(auth)
        if auth != f"Bearer {TOKEN}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", "Bearer")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.path.removeprefix("/fhir")
        r = httpx.get(self.upstream + path, headers={"Accept": FHIR_JSON}, trust_env=False)
        body = r.content.replace(self.upstream.encode(), self.server_base.encode())
        self.send_response(r.status_code)
        self.send_header("Content-Type", FHIR_JSON)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @property
    def server_base(self) -> str:
        address: Any = self.server.server_address
        return f"http://{address[0]}:{address[1]}/fhir"

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def gated_base(fhir_base: str) -> Iterator[tuple[str, list[str | None]]]:
    seen: list[str | None] = []
    handler = type("Gate", (_TokenGate,), {"upstream": fhir_base, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir", seen
    finally:
        server.shutdown()
        server.server_close()


def _client(settings: Settings, *bases: str) -> TestClient:
    return TestClient(
        create_app(
            settings.model_copy(
                update={"fhir_server_allowlist": list(bases), "fhir_fetch_budget_seconds": 10.0}
            )
        )
    )


def _body(base: str, answers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "fhirServer": base,
        "patient": PATIENT,
        "orders": [MRI_WITHOUT],
        "answers": answers or [],
        "consultId": "urn:uuid:0f6a3f0e-7a53-4f57-9d55-0d8f4f3c1a11",
    }


def _order(view: dict[str, Any]) -> dict[str, Any]:
    [order] = view["orders"]
    assert isinstance(order, dict)
    return order


def test_assessment_reads_the_record_and_explains_the_variants(
    fhir_base: str, settings: Settings
) -> None:
    with _client(settings, fhir_base) as client:
        r = client.post("/app/api/assessment", json=_body(fhir_base))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    view = r.json()
    order = _order(view)
    assert order["rated"] is False and order["category"] is None
    assert "Not rated yet" in order["rating"] and "symptomatic" in order["rating"]
    # the finding's source names the resource in words and keeps the reference
    vcf = next(f for f in view["findings"] if f["code"] == "vcf")
    assert vcf["level"] == "L3" and vcf["value"] == "yes"
    [source] = vcf["sources"]
    assert source["reference"] == "Observation/o-vcf"
    assert source["label"].startswith("Observation: ") and "2026-11-20" in source["label"]
    imaging = next(v for v in view["variants"] if v["question"] == "imaging")
    v1 = next(v for v in imaging["variants"] if v["id"] == 1)
    assert v1["status"] == "possible" and "symptomatic" in v1["explanation"]
    ruled_out = [v for v in imaging["variants"] if v["status"] == "not_matched"]
    assert ruled_out and all(v["explanation"].startswith("Ruled out") for v in ruled_out)
    # the form asks what decides the rating
    ids = [q["id"] for q in view["questions"]]
    assert "symptomatic" in ids
    assert view["writeBack"] == {"observations": [], "questionnaireResponse": None}
    assert "American College of Radiology" in view["acrNotice"]


def test_an_answer_changes_the_rating_and_is_written_back_as_read(
    fhir_base: str, settings: Settings
) -> None:
    answers = [{"question": "symptomatic", "value": True}]
    with _client(settings, fhir_base) as client:
        r = client.post("/app/api/assessment", json=_body(fhir_base, answers))
        assert r.status_code == 200, r.text
        view = r.json()
        order = _order(view)
        assert order["rated"] is True and order["category"] == "Usually Appropriate"
        assert order["variant"] == 1
        # the matched variant's ACR table, the ordered procedure highlighted
        [table] = [t for t in view["acrTables"] if t["variant"] == 1]
        assert table["status"] == "matched"
        ordered = [row for row in table["rows"] if row["ordered"]]
        assert [row["procedure"] for row in ordered] == [
            "MRI spine area of interest without IV contrast"
        ]
        assert ordered[0]["radiation"] == "0 mSv"
        sym = next(f for f in view["findings"] if f["code"] == "symptomatic")
        assert sym["sources"][0]["clinicianEntered"] is True
        assert sym["sources"][0]["reference"] == "clinician-entered:symptomatic"
        # write-back: an Observation the service reads, and the QuestionnaireResponse
        [written] = view["writeBack"]["observations"]
        assert written["status"] == "final" and written["valueBoolean"] is True
        assert written["subject"] == {"reference": f"Patient/{PATIENT}"}
        assert "effectiveDateTime" in written and "id" not in written
        qr = view["writeBack"]["questionnaireResponse"]
        assert qr["item"][0]["linkId"] == "symptomatic"
        assert qr["item"][0]["answer"] == [{"valueBoolean": True}]
        created = httpx.post(
            f"{fhir_base}/Observation",
            json=written,
            headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
            trust_env=False,
        )
        assert created.status_code == 201, created.text
        try:
            # a re-run without answers reads the written Observation back: same rating
            again = client.post("/app/api/assessment", json=_body(fhir_base)).json()
            assert _order(again)["category"] == "Usually Appropriate"
            sym = next(f for f in again["findings"] if f["code"] == "symptomatic")
            assert sym["sources"][0]["reference"].startswith("Observation/")
        finally:
            rid = created.json()["id"]
            httpx.delete(f"{fhir_base}/Observation/{rid}", trust_env=False)


def test_history_answer_applies_but_is_not_written_as_an_observation(
    fhir_base: str, settings: Settings
) -> None:
    answers: list[dict[str, Any]] = [
        {"question": "symptomatic", "value": True},
        {"question": "multiple-vcfs", "value": None},
    ]
    with _client(settings, fhir_base) as client:
        view = client.post("/app/api/assessment", json=_body(fhir_base, answers)).json()
    # "unknown" is kept in the questionnaire, never written as an Observation
    assert len(view["writeBack"]["observations"]) == 1
    items = view["writeBack"]["questionnaireResponse"]["item"]
    assert [i["linkId"] for i in items] == ["symptomatic", "multiple-vcfs"]


def test_not_allow_listed_server_is_refused_naming_the_field(
    fhir_base: str, settings: Settings
) -> None:
    with _client(settings, "https://other.example.org/fhir") as client:
        r = client.post("/app/api/assessment", json=_body(fhir_base))
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/fhir+json")
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["fhirServer"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"patient": "../Patient"}, "body.patient"),
        ({"answers": [{"question": "no-such-question", "value": True}]}, "answers.0.question"),
        ({"answers": [{"question": "symptomatic", "value": "perhaps"}]}, "answers.0.value"),
        ({"answers": [{"question": "vertebral-height-loss", "value": 140}]}, "answers.0.value"),
        ({"orders": [{"system": "http://loinc.org"}]}, "body.orders.0.code"),
    ],
)
def test_bad_input_names_the_field(
    fhir_base: str, settings: Settings, patch: dict[str, Any], field: str
) -> None:
    with _client(settings, fhir_base) as client:
        r = client.post("/app/api/assessment", json=_body(fhir_base) | patch)
    assert 400 <= r.status_code < 500, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert field in outcome["issue"][0]["expression"][0]


def test_unknown_patient_is_404(fhir_base: str, settings: Settings) -> None:
    with _client(settings, fhir_base) as client:
        r = client.post("/app/api/assessment", json=_body(fhir_base) | {"patient": "nobody"})
    assert r.status_code == 404
    assert r.json()["issue"][0]["expression"] == ["patient"]


def test_the_token_is_passed_through_and_a_refusal_passed_on(
    gated_base: tuple[str, list[str | None]], settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    base, seen = gated_base
    caplog.set_level(logging.DEBUG)
    with _client(settings, base) as client:
        ok = client.post(
            "/app/api/assessment",
            json=_body(base),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert ok.status_code == 200, ok.text
        assert seen and all(a == f"Bearer {TOKEN}" for a in seen)
        assert _order(ok.json())["rated"] is False  # the same record, read through the gate
        seen.clear()
        refused = client.post(
            "/app/api/assessment",
            json=_body(base),
            headers={"Authorization": "Bearer expired-token"},
        )
        assert refused.status_code == 401
        issue = refused.json()["issue"][0]
        assert issue["code"] == "login" and issue["expression"] == ["header.Authorization"]
        assert "expired-token" not in refused.text
        missing = client.post("/app/api/assessment", json=_body(base))
        assert missing.status_code == 401
        malformed = client.post(
            "/app/api/assessment", json=_body(base), headers={"Authorization": "Basic abc"}
        )
        assert malformed.status_code == 400
        assert malformed.json()["issue"][0]["expression"] == ["header.Authorization"]
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records and TOKEN not in logged and "expired-token" not in logged
