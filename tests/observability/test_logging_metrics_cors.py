"""Request ids, structured access logs without PHI, Prometheus metrics and CORS."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.observability.cors import cors_middleware_kwargs
from app.observability.logging import JsonFormatter, configure_logging
from app.observability.metrics import app_metrics
from tests.fhir_builders import condition, draft, hook_request, v1_observations

HOOK = "/cds-services/vcf-order-select"
ORIGIN = "https://ehr.example.org"


def order_select() -> dict[str, Any]:
    return hook_request(
        "order-select", v1_observations(), conditions=[condition("c-op", "M81.0")],
        drafts=[draft("sr1", "72158", "MRI lumbar spine without and with contrast")],
    )  # fmt: skip


def test_request_id_generated_echoed_and_sanitised(client: TestClient) -> None:
    generated = client.get("/api/v1/health/live").headers["x-request-id"]
    assert uuid.UUID(generated).version == 4
    r = client.get("/api/v1/health/live", headers={"X-Request-ID": "abc.DEF-123_x"})
    assert r.headers["x-request-id"] == "abc.DEF-123_x"
    for bad in ("a b", "x" * 65, "id\r\nSet-Cookie: y", "<script>", "é"):
        r = client.get("/api/v1/health/live", headers={"X-Request-ID": bad.encode("utf-8")})
        assert r.headers["x-request-id"] != bad
        assert uuid.UUID(r.headers["x-request-id"]).version == 4
    # error responses from the limits carry it too
    r = client.post(HOOK, content=b"[" * 10_000, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "x-request-id" in r.headers


def test_logs_are_json_without_phi_tokens_or_query(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture, restore_logging: None
) -> None:
    client = make_client()
    stream = io.StringIO()  # after create_app, which may configure logging itself
    configure_logging(json=True, level="DEBUG", stream=stream)
    req = order_select()
    req["context"]["patientId"] = "PATIENT-XYZ"
    secret = {"Authorization": "Bearer SECRET123", "X-Request-ID": "req-42"}
    with caplog.at_level(logging.DEBUG):
        r = client.post(f"{HOOK}?patient=PATIENT-XYZ", json=req, headers=secret)
        client.post(
            "/api/v1/scores/sins?patient=PATIENT-XYZ",
            json={"patientId": "PATIENT-XYZ"},
            headers=secret,
        )
        client.get("/fhir/Patient/PATIENT-XYZ?patient=PATIENT-XYZ", headers=secret)
    assert r.status_code == 200, r.text
    lines = [line for line in stream.getvalue().splitlines() if line]
    records = [json.loads(line) for line in lines]
    access = [x for x in records if x["logger"] == "vcf_cds.access"]
    assert len(access) == 3
    hook = access[0]
    assert {
        "ts",
        "level",
        "logger",
        "msg",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
    } <= hook.keys()
    assert hook["path"] == "/cds-services/{service_id}" and hook["status"] == 200
    assert hook["request_id"] == "req-42" and hook["method"] == "POST"
    assert [a["path"] for a in access[1:]] == ["/api/v1/scores/sins", "<unmatched>"]
    formatted = "\n".join(JsonFormatter().format(rec) for rec in caplog.records)
    for text in (stream.getvalue(), caplog.text, formatted):
        for needle in ("PATIENT-XYZ", "SECRET123", "Bearer", "patient="):
            assert needle not in text


def test_unhandled_error_logs_type_only(restore_logging: None) -> None:
    try:
        raise ValueError("patient PATIENT-XYZ")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "boom", None, __import__("sys").exc_info()
        )
    out = json.loads(JsonFormatter().format(record))
    assert out["exc_type"] == "ValueError" and "PATIENT-XYZ" not in json.dumps(out)


def test_metrics_after_a_hook_call(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    metrics = app_metrics(client.app)
    assert metrics is not None
    r = client.post(HOOK, json=order_select())
    assert r.status_code == 200, r.text
    topics = {c["source"]["topic"]["code"] for c in r.json()["cards"]}
    m = client.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    text = m.text
    assert re.search(
        r'vcf_cds_cards_total\{indicator="warning",service="vcf-order-select",topic="order-appropriateness"\} 1\.0',
        text,
    )
    for topic in topics:
        assert f'topic="{topic}"' in text
    assert 'vcf_cds_orders_total{service="vcf-order-select",status="rated"} 1.0' in text
    assert (
        'vcf_cds_http_requests_total{method="POST",route="/cds-services/{service_id}",status="200"} 1.0'
        in text
    )
    assert (
        'vcf_cds_http_request_duration_seconds_bucket{le="0.005",route="/cds-services/{service_id}"}'
        in text
    )
    assert (
        'vcf_cds_http_request_duration_seconds_bucket{le="+Inf",route="/cds-services/{service_id}"} 1.0'
        in text
    )
    # the audit gauges exist (the record may still be queued when /metrics is read)
    assert re.search(r"^vcf_cds_audit_spool_depth \d", text, re.M)
    assert re.search(r"^vcf_cds_audit_queue_depth \d", text, re.M)
    client.get("/nothing/PATIENT-XYZ")
    text = client.get("/metrics").text
    assert 'route="<unmatched>"' in text and "PATIENT-XYZ" not in text


def test_apps_have_separate_registries(make_client: Callable[..., TestClient]) -> None:
    a, b = make_client(), make_client()
    a.get("/api/v1/health/live")
    assert 'route="/api/v1/health/live"' in a.get("/metrics").text
    assert 'route="/api/v1/health/live"' not in b.get("/metrics").text


def test_cors_preflight(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=[ORIGIN])
    pre = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    r = client.options(HOOK, headers={"Origin": ORIGIN, **pre})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    assert set(r.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert r.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in r.headers
    r = client.options(HOOK, headers={"Origin": "https://evil.example", **pre})
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/cds-services", headers={"Origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN
    exposed = r.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "x-knowledge-version" in exposed
    assert (
        "access-control-allow-origin"
        not in client.get("/cds-services", headers={"Origin": "https://evil.example"}).headers
    )


def test_cors_refuses_wildcards() -> None:
    assert cors_middleware_kwargs([ORIGIN + "/"])["allow_origins"] == [ORIGIN]
    for bad in ("*", "https://*.example.org", "ehr.example.org"):
        with pytest.raises(ValueError):
            cors_middleware_kwargs([bad])
