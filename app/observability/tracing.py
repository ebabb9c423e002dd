"""OpenTelemetry tracing, off by default (``VCF_CDS_TRACING=off|console|otlp``).

When on, the FastAPI app (one server span per request), the FHIR ``httpx`` client (one client
span per fetch) and the SQLAlchemy engine (one span per statement) are instrumented with a
tracer provider of this app's own (the process-global provider is left alone, so several apps
in one process, as in the tests, do not share exporters). ``otlp`` exports over OTLP/HTTP to
the collector named by the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` variables (default ``http://localhost:4318``);
``console`` prints spans to stdout (debugging). The service name is ``OTEL_SERVICE_NAME``
(default ``vcf-cds``).

The trace id (32 hex digits) of the request being handled is :func:`current_trace_id`: the
JSON log lines carry it as ``trace_id`` and the audit entry stores it. Incoming W3C
``traceparent`` headers are honoured (the EHR's trace continues here). Nothing of the request
(body, query string, headers other than the standard HTTP attributes) is put on spans: the
FastAPI instrumentation records the route template, method and status; the SQLAlchemy one the
statement text with bound parameters left out; the httpx one the URL, which names the patient
in a FHIR search or read, so only :func:`fhir_url_for_span` of it is kept.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace
from sqlalchemy import Engine

if TYPE_CHECKING:
    from starlette.types import Scope

log = logging.getLogger("vcf_cds.tracing")

TracingMode = Literal["off", "console", "otlp"]
SERVICE_NAME = "vcf-cds"


_installed = False  # install_tracing has instrumented an app of this process (stays True)


def current_trace_id() -> str | None:
    """The trace id of the span active in this context (hex), or None outside a trace (at
    once while no app of this process has tracing on: asked by every log line and audit
    entry, the context lookup is a few microseconds each)."""
    if not _installed:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def make_exporter(mode: TracingMode) -> Any:
    """The span exporter for ``mode`` (tests replace this with an in-memory exporter)."""
    if mode == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def fhir_url_for_span(url: str) -> str:
    """``url`` without query, fragment or credentials, and with every path segment after a
    FHIR resource type (a capitalised segment) replaced by ``{id}``: a FHIR search or read
    names the patient in its query or path, and neither may reach a trace."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    for n in range(1, len(segments)):
        previous = segments[n - 1]
        if previous[:1].isupper() and previous.isalpha() and segments[n]:
            segments[n] = "{id}"
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, "/".join(segments), "", ""))


_URL_ATTRIBUTES = ("url.full", "http.url")


async def _scrub_fhir_request(span: Any, request: Any) -> None:
    """httpx (async client) request hook: the span keeps :func:`fhir_url_for_span` only."""
    if span is None or not span.is_recording():
        return
    safe = fhir_url_for_span(str(request.url))
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, safe)


def _scrub_server_request(span: Any, scope: Scope) -> None:
    """FastAPI server span hook: no query string on the span (the logs never carry one)."""
    if span is None or not span.is_recording():
        return
    path = str(scope.get("path", ""))
    span.set_attribute("http.target", path)
    span.set_attribute("url.query", "")
    host = scope.get("server") or ("", 0)
    span.set_attribute("http.url", f"{scope.get('scheme', 'http')}://{host[0]}:{host[1]}{path}")


def install_tracing(app: Any, mode: TracingMode, *, engine: Engine, http_client: Any) -> Any | None:
    """Instrument ``app``, ``engine`` and ``http_client`` when ``mode`` is not ``off``;
    returns the tracer provider (``app.state.tracer_provider``; shut down at process exit,
    which flushes the last spans) or None."""
    global _installed
    app.state.tracer_provider = None
    if mode == "off":
        return None
    _installed = True
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(make_exporter(mode)))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="/api/v1/health/live,/api/v1/health/ready,/metrics",
        server_request_hook=_scrub_server_request,
    )
    HTTPXClientInstrumentor.instrument_client(
        http_client, tracer_provider=provider, request_hook=_scrub_fhir_request
    )
    sqlalchemy = SQLAlchemyInstrumentor()  # a process-wide singleton: one app per process
    if sqlalchemy.is_instrumented_by_opentelemetry:
        sqlalchemy.uninstrument()
    # skip_dep_check: the instrumentation declares "sqlalchemy < 2.1" but works on 2.1 through
    # the same engine events (tests/observability/test_tracing.py checks the spans)
    sqlalchemy.instrument(
        engine=engine, tracer_provider=provider, enable_commenter=False, skip_dep_check=True
    )
    app.state.tracer_provider = provider
    log.info("tracing on (%s exporter)", mode)
    return provider
