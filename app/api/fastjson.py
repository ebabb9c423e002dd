"""One JSON parse per request, in C, and a direct call of JSON-bodied endpoints.

``FastJsonRoute`` hands FastAPI a request whose ``json()`` parses with orjson
(``app.json_codec.loads``: the standard library's results and errors) and caches the value,
so the body model and the route's own ``await request.json()`` share one parse.
``FastJSONResponse`` serialises with orjson (compact UTF-8, as Starlette's ``JSONResponse``).

Direct call: for an endpoint of a plain shape (a coroutine returning a ``Response``, one JSON
body model, ``str`` path parameters, the ``Request``, and dependencies that themselves take only
the ``Request``) a well-formed request is answered without FastAPI's general dependency
solver: the body is validated by the route's own body field (FastAPI's validation, same
model and options), the dependencies are awaited in declaration order and the endpoint is
called. Anything else (no or another content type, an empty body, JSON or validation errors,
dependency overrides) goes through FastAPI's handler unchanged, which therefore still
produces every error answer, in its own order (a dependency's 401 before a body's 400). On
the CDS Hooks call the solver, its content-type parsing with ``email.message`` and its
per-request endpoint context were most of what this skips: with it and two smaller changes
the event loop's share of a saturated worker's samples fell from 50 % to 43 % (py-spy,
bench/README.md).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import params
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import _should_embed_body_fields
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.limits import replaying
from app.json_codec import loads

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# the media types FastAPI parses as JSON (``application/json``, ``application/<x>+json``), in
# the plain spellings only; any other spelling is left to FastAPI's own parser
_JSON_MEDIA = re.compile(r"application/(?:[a-z0-9.\-]+\+)?json\s*(?:;[^,]*)?", re.IGNORECASE)


class FastJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


@dataclass(frozen=True, slots=True)
class _DirectCall:
    """How to call one endpoint without the dependency solver (see the module docstring)."""

    overrides: Any  # the dependency-overrides provider (the app), if any
    endpoint: Callable[..., Awaitable[Response]]
    path_params: tuple[str, ...]
    request_param: str | None
    body: ModelField
    dependencies: tuple[tuple[str, Callable[[Request], Awaitable[Any]]], ...]

    @classmethod
    def plan(cls, route: APIRoute) -> _DirectCall | None:
        """The plan for ``route``, or None when its shape needs FastAPI's solver."""
        d = route.dependant
        if len(d.body_params) != 1 or not _plain(d, body_ok=True):
            return None
        body = d.body_params[0]  # validated as FastAPI does: the field, not embedded
        if _should_embed_body_fields(d.body_params) or isinstance(body.field_info, params.Form):
            return None
        if not inspect.iscoroutinefunction(route.endpoint) or not _returns_response(route):
            return None
        if any(p.field_info.annotation is not str for p in d.path_params):
            return None
        deps: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = []
        for sub in d.dependencies:
            call = sub.call
            if sub.name is None or call is None or not inspect.iscoroutinefunction(call):
                return None
            if sub.dependencies or sub.body_params or not _plain(sub, body_ok=False):
                return None
            if sub.request_param_name is None or len(inspect.signature(call).parameters) != 1:
                return None
            deps.append((sub.name, call))
        return cls(
            overrides=route.dependency_overrides_provider,
            endpoint=route.endpoint,
            path_params=tuple(p.name for p in d.path_params),
            request_param=d.request_param_name,
            body=body,
            dependencies=tuple(deps),
        )

    async def __call__(self, request: FastJsonRequest) -> Response | None:
        """The endpoint's response, or None: FastAPI's handler is to answer this request."""
        content_type = request.headers.get("content-type")
        if content_type is None or not _JSON_MEDIA.fullmatch(content_type):
            return None
        overrides = getattr(self.overrides, "dependency_overrides", None)
        if overrides or not await request.body():
            return None
        try:
            value = await request.json()
        except ValueError:  # FastAPI's handler answers it (JSON decode error, its own shape)
            return None
        model, errors = self.body.validate(value, {}, loc=("body",))
        if errors:
            return None
        kwargs: dict[str, object] = {name: request.path_params[name] for name in self.path_params}
        for name, dependency in self.dependencies:  # may raise, as under the solver
            kwargs[name] = await dependency(request)
        if self.request_param is not None:
            kwargs[self.request_param] = request
        kwargs[self.body.name] = model
        return await self.endpoint(**kwargs)


def _plain(d: Dependant, *, body_ok: bool) -> bool:
    """No query, header or cookie parameters, no security scopes, response or background
    parameters, no websocket (what the direct call does not supply)."""
    return not (
        d.query_params
        or d.header_params
        or d.cookie_params
        or (d.body_params and not body_ok)
        or d.websocket_param_name
        or d.http_connection_param_name
        or d.response_param_name
        or d.background_tasks_param_name
        or d.security_scopes_param_name
        or d.own_oauth_scopes
    )


def _returns_response(route: APIRoute) -> bool:
    try:
        hint = typing.get_type_hints(route.endpoint).get("return")
    except (NameError, TypeError):
        return False
    return isinstance(hint, type) and issubclass(hint, Response)


class FastJsonRoute(APIRoute):
    """An ``APIRoute`` whose requests parse JSON once (``FastJsonRequest``) and, for an
    endpoint with a direct-call plan, are answered by the direct call when they can be
    (``_lean_app``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        direct = _DirectCall.plan(self)
        if direct is not None:
            self.app = _lean_app(direct, self.app)

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def fast_json_handler(request: Request) -> Response:
            return await handler(FastJsonRequest(request.scope, request.receive))

        return fast_json_handler


def _lean_app(direct: _DirectCall, full: ASGIApp) -> ASGIApp:
    """The route's ASGI app: the direct call without FastAPI's per-request wrapper (a request
    object, two exit stacks for dependencies with ``yield``, of which a direct call has none,
    and an exception wrapper: an exception goes on to the app's ``ExceptionMiddleware``, which
    answers it with the same handlers); else ``full``, FastAPI's app for the route, on the same
    body. It serves the route when the route is the app's own (``app.router``); FastAPI serves
    an included router's routes with handlers of its own, built from the inclusion (with the
    dependencies ``include_router`` adds), so those always take FastAPI's handler."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = FastJsonRequest(scope, receive, send)
        body = await request.body()
        response = await direct(request)
        if response is not None:
            await response(scope, receive, send)
            return
        await full(scope, replaying(body, receive), send)

    return app


class FastJSONResponse(JSONResponse):
    """Starlette's ``JSONResponse`` (compact UTF-8) rendered by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
