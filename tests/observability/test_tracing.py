"""OpenTelemetry tracing (app/observability/tracing.py) with the SDK's in-memory exporter:
off by default; when on, FastAPI, httpx (FHIR fetch) and SQLAlchemy spans share the request's
trace, whose id is in the JSON log lines and in the audit record; no patient id reaches a
span."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app.main import create_app
from app.observability import tracing
from app.observability.logging import configure_logging
from app.settings import Settings
from tests.fhir_builders import PATIENT, bundle, condition, draft, hook_request, v1_observations

EHR = "https://ehr.example.org/fhir"
CONSULT = "http://fhir.org/argonaut/Extension/pama-rating-consult-id"
INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    monkeypatch.setattr(tracing, "make_exporter", lambda mode: memory)
    return memory


@pytest.fixture
def traced(
    settings: Settings,
    exporter: InMemorySpanExporter,
    restore_logging: None,
) -> Iterator[TestClient]:
    s = settings.model_copy(update={"tracing": "otlp", "fhir_server_allowlist": [EHR]})
    app = create_app(s)
    app.state.log_stream = io.StringIO()  # after create_app, which configures logging itself
    configure_logging(json=True, level="INFO", stream=app.state.log_stream)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        FastAPIInstrumentor.uninstrument_app(app)
        SQLAlchemyInstrumentor().uninstrument()


def spans(client: TestClient, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    client.app.state.tracer_provider.force_flush()  # type: ignore[attr-defined]
    return list(exporter.get_finished_spans())


def hex_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def consult_id_of(body: dict[str, Any]) -> str:
    for action in body["systemActions"]:
        for ext in action["resource"].get("extension", []):
            if ext["url"] == CONSULT:
                return str(ext["valueUri"])
    raise AssertionError("no consult id")


def audit_record(client: TestClient, consult_id: str) -> dict[str, Any]:
    assert client.app.state.audit.wait_idle(10)  # type: ignore[attr-defined]
    r = client.get(f"/api/v1/audit/{consult_id}")
    assert r.status_code == 200, r.text
    record: dict[str, Any] = r.json()
    return record


def access_lines(err: str, path: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("path") == path]


def test_hook_call_spans_share_one_trace_in_logs_and_audit(
    traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", "72158")])
    del req["prefetch"]["conditions"]  # fetched from the FHIR server: an httpx span
    req["fhirAuthorization"] = {
        "access_token": "tok-123",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds",
    }
    req["prefetch"]["diagnosticReports"] = bundle([])  # optional key sent: one fetch only
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{EHR}/Condition", params={"patient": PATIENT}).respond(
            200, json=bundle([condition("c", "M81.0")])
        )
        r = traced.post("/cds-services/vcf-order-select", json=req)
    assert r.status_code == 200, r.text
    consult = consult_id_of(r.json())

    finished = spans(traced, exporter)
    [server] = [
        s
        for s in finished
        if s.kind == SpanKind.SERVER
        and s.attributes.get("http.route") == "/cds-services/{service_id}"  # type: ignore[union-attr]
    ]
    trace_id = hex_id(server)
    [fetch] = [s for s in finished if s.kind == SpanKind.CLIENT and s.name.startswith("GET")]
    assert hex_id(fetch) == trace_id  # the FHIR fetch is a child of the request
    url = str(fetch.attributes.get("url.full") or fetch.attributes.get("http.url"))  # type: ignore[union-attr]
    assert url == f"{EHR}/Condition" and PATIENT not in url

    record = audit_record(traced, consult)
    assert record["trace_id"] == trace_id
    db_spans = [
        s for s in spans(traced, exporter) if s.attributes and "db.statement" in s.attributes
    ]
    assert db_spans, "SQLAlchemy is instrumented"

    log = traced.app.state.log_stream.getvalue()  # type: ignore[attr-defined]
    [access] = access_lines(log, "/cds-services/{service_id}")
    assert access["trace_id"] == trace_id and access["status"] == 200


def test_incoming_traceparent_continues_the_callers_trace(
    traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    req = hook_request(
        "order-select",
        v1_observations(),
        conditions=[condition("c", "M81.0")],
        drafts=[draft("s", "72158")],
    )
    headers = {"traceparent": f"00-{INCOMING_TRACE}-00f067aa0ba902b7-01"}
    r = traced.post("/cds-services/vcf-order-select", json=req, headers=headers)
    assert r.status_code == 200
    server = [s for s in spans(traced, exporter) if s.kind == SpanKind.SERVER]
    assert [hex_id(s) for s in server] == [INCOMING_TRACE]
    assert audit_record(traced, consult_id_of(r.json()))["trace_id"] == INCOMING_TRACE


def test_server_span_has_no_query_string(
    traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    assert traced.get("/api/v1/acr/variants?patient=secret-id").status_code == 200
    [server] = [s for s in spans(traced, exporter) if s.kind == SpanKind.SERVER]
    assert "secret-id" not in json.dumps(dict(server.attributes or {}))


def test_tracing_is_off_by_default(settings: Settings, restore_logging: None) -> None:
    assert Settings().tracing == "off"
    req = hook_request(
        "order-select",
        v1_observations(),
        conditions=[condition("c", "M81.0")],
        drafts=[draft("s", "72158")],
    )
    app = create_app(settings)
    stream = io.StringIO()
    configure_logging(json=True, level="INFO", stream=stream)
    with TestClient(app) as client:
        assert client.app.state.tracer_provider is None  # type: ignore[attr-defined]
        r = client.post("/cds-services/vcf-order-select", json=req)
        assert r.status_code == 200
        record = audit_record(client, consult_id_of(r.json()))
    assert record["trace_id"] is None and "trace_id" not in record["policies"]
    [access] = access_lines(stream.getvalue(), "/cds-services/{service_id}")
    assert "trace_id" not in access


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{EHR}/Observation?patient=p1&code=x", f"{EHR}/Observation"),
        (f"{EHR}/Patient/p1", f"{EHR}/Patient/{{id}}"),
        (
            "https://user:pw@ehr.example.org:8443/r4/Condition/c-9/_history/2",
            "https://ehr.example.org:8443/r4/Condition/{id}/_history/2",
        ),
    ],
)
def test_fhir_urls_lose_ids_query_and_credentials(url: str, expected: str) -> None:
    assert tracing.fhir_url_for_span(url) == expected


def test_trace_id_outside_a_span_is_none() -> None:
    assert tracing.current_trace_id() is None
    logging.getLogger("vcf_cds.test").info("no trace here")  # the filter copes without a span


def test_spool_lines_without_a_trace_id_still_parse() -> None:
    from datetime import UTC, datetime

    from app.audit.entry import AuditEntry

    entry = AuditEntry(
        consult_id="urn:uuid:1",
        service="vcf-order-select",
        hook="order-select",
        hook_instance=None,
        created_at=datetime(2026, 12, 4, tzinfo=UTC),
        latency_ms=1.0,
        knowledge_version="k",
        policies={},
        input_sha256="0" * 64,
        patient_hmac=None,
        client_iss=None,
        cards=[],
        system_actions=[],
        orders_rated=0,
        orders_unrated=0,
        trace_id="a" * 32,
    )
    assert AuditEntry.from_json(entry.to_json()) == entry
    old = json.loads(entry.to_json())
    del old["trace_id"]  # written before the field existed
    assert AuditEntry.from_json(json.dumps(old)).trace_id is None
    with pytest.raises(ValueError):
        AuditEntry.from_json(json.dumps({**old, "unknown": 1}))
