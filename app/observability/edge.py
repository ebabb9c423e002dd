"""The one request-edge middleware: request id, ``X-Knowledge-Version``, access log, metrics.

Pure ASGI and outermost: one ``send`` wrapper, one clock and one route-template lookup per
request for all four concerns (they were three middlewares, each wrapping ``send`` and two of
them matching the route table again). What is logged and labelled is unchanged: the route
template, never the raw path (``app.observability.logging``, ``app.observability.metrics``).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import ACCESS_LOGGER, accept_request_id, bind_request_id
from app.observability.metrics import Metrics
from app.observability.routing import UNMATCHED, route_template

REQUEST_ID_HEADER = b"x-request-id"
KNOWLEDGE_VERSION_HEADER = b"x-knowledge-version"


class EdgeMiddleware:
    """Assigns the request id (context variable + ``X-Request-ID``), adds
    ``X-Knowledge-Version`` to every response, writes one access line and counts and times
    the request in ``metrics`` (when given)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        knowledge_version: str,
        metrics: Metrics | None = None,
        logger_name: str = ACCESS_LOGGER,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger(logger_name)
        self.version = (KNOWLEDGE_VERSION_HEADER, knowledge_version.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", ()):
            if key == REQUEST_ID_HEADER:
                incoming = value.decode("latin-1")
                break
        rid = accept_request_id(incoming)
        reset = bind_request_id(rid)
        added = ((REQUEST_ID_HEADER, rid.encode("latin-1")), self.version)
        status = 500
        start = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except BaseException:
            # the id stays bound: the outer error handler logs in this same request context
            self._finish(scope, 500, start, rid)
            raise
        self._finish(scope, status, start, rid)
        reset()

    def _finish(self, scope: Scope, status: int, start: float, rid: str) -> None:
        seconds = time.perf_counter() - start
        method = scope.get("method", "")
        route = route_template(scope) or UNMATCHED
        if self.metrics is not None:
            self.metrics.observe_request(method, route, status, seconds)
        self.log.log(
            logging.ERROR if status >= 500 else logging.INFO,
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "request_id": rid,
                "method": method,
                "path": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
