"""One JSON parse per request, in C: orjson with the standard library as the fallback.

``FastJsonRoute`` hands FastAPI a request whose ``json()`` parses with orjson and caches the
value, so the body model and the route's own ``await request.json()`` share one parse.
Whatever orjson refuses that Python's ``json`` accepts (``NaN``, integers beyond 64 bits,
UTF-16/32 bodies, lone surrogate escapes) falls back to ``json.loads``, so accepted input and
error answers are exactly those of the standard parser. ``FastJSONResponse`` serialises with
orjson (compact UTF-8, as Starlette's ``JSONResponse``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def loads(raw: bytes) -> Any:
    """Parse a JSON document: orjson, else the standard library (same results, same errors)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


class FastJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class FastJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def fast_json_handler(request: Request) -> Response:
            return await handler(FastJsonRequest(request.scope, request.receive))

        return fast_json_handler


class FastJSONResponse(JSONResponse):
    """Starlette's ``JSONResponse`` (compact UTF-8) rendered by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
