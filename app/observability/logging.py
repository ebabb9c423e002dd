"""Structured JSON logs and the request-id / access-log middleware.

What is never logged: request or response bodies, query strings, headers (Authorization,
tokens) and raw paths: the route template is logged instead (``<unmatched>`` for a path no
route matches), so ids in the path such as patient ids stay out of the logs. HTTP client
loggers (httpx, httpcore) are held at WARNING: they log request URLs with their queries.
"""

from __future__ import annotations

import json as _json
import logging
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

import orjson

from app.ids import new_uuid
from app.json_types import JsonObject
from app.observability.tracing import current_trace_id

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "vcf_cds.access"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
_HANDLER_MARK = "_vcf_cds_handler"

_request_id: ContextVar[str | None] = ContextVar("vcf_cds_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _request_id.get()


def accept_request_id(incoming: str | None) -> str:
    """The client's ``X-Request-ID`` when it is safe to echo and log, else a new uuid4."""
    if incoming is not None and _VALID_REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_uuid()  # not uuid.uuid4(): its os.urandom gives the GIL up (app/ids.py)


class RequestIdFilter(logging.Filter):
    """Stamps ``record.request_id`` and ``record.trace_id`` (OpenTelemetry, when tracing is
    on) in the emitting context (before any hand-off to a queue or another thread, where the
    context variables would be lost)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        if getattr(record, "trace_id", None) is None:
            record.trace_id = current_trace_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, trace_id (when tracing
    is on) and, on access lines, method, path, status, duration_ms. Exceptions are reduced
    to their type name: messages and tracebacks may quote patient data."""

    def format(self, record: logging.LogRecord) -> str:
        out: JsonObject = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        trace_id = getattr(record, "trace_id", None) or current_trace_id()
        if trace_id is not None:
            out["trace_id"] = trace_id
        for field in _ACCESS_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                out[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
        try:  # one line per request on the hot path: orjson (compact), json for the odd value
            return orjson.dumps(out, default=str).decode("utf-8")
        except (TypeError, orjson.JSONEncodeError):
            return _json.dumps(out, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    """Human-readable development format (same fields, no tracebacks)."""

    def format(self, record: logging.LogRecord) -> str:
        head = (
            f"{self.formatTime(record)} {record.levelname} {record.name} "
            f"[{getattr(record, 'request_id', None) or '-'}] {record.getMessage()}"
        )
        if record.exc_info and record.exc_info[0] is not None:
            head += f" ({record.exc_info[0].__name__})"
        return head


def configure_logging(json: bool, level: str, stream: TextIO | None = None) -> logging.Handler:
    """Install one handler on the root logger (replacing the one a previous call installed)
    and return it. Uvicorn's access log is disabled (it writes the query string; the access
    line of :class:`RequestContextMiddleware` replaces it) and httpx/httpcore log at WARNING."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else _TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("httpx", "httpcore"):  # they log full URLs, e.g. FHIR searches by patient
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def bind_request_id(rid: str) -> Callable[[], None]:
    """Bind ``rid`` as the current request id; returns the function that unbinds it."""
    token = _request_id.set(rid)
    return lambda: _request_id.reset(token)
