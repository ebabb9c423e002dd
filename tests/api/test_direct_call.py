"""The direct call of the CDS Hooks service route (app/api/fastjson.py): a well-formed call
skips FastAPI's dependency solver, and every other request gets exactly the answer FastAPI's
own handler gives (same status, media type and body)."""

from __future__ import annotations

import json
from typing import Any

import fastapi.routing
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.api.auth_gate import Unauthorized, client_identity
from app.api.fastjson import FastJsonRoute, _DirectCall
from tests.conftest import ClientFactory
from tests.fhir_builders import condition, draft, hook_request, v1_observations

URL = "/cds-services/vcf-order-select"
JSON = "application/json"


def _valid() -> dict[str, Any]:
    return hook_request(
        "order-select",
        v1_observations(),
        conditions=[condition("c-op", "M81.0")],
        drafts=[draft("sr1", "72148")],
        selections=["ServiceRequest/sr1"],
    )


def _post(client: TestClient, content: bytes, content_type: str | None, url: str = URL) -> Any:
    headers = {} if content_type is None else {"content-type": content_type}
    return client.post(url, content=content, headers=headers)


def test_only_the_service_call_has_a_plan(client: TestClient) -> None:
    routes = [r for r in client.app.router.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    plans = {r.path: _DirectCall.plan(r) for r in routes if r.path.startswith("/cds-services")}
    assert plans["/cds-services/{service_id}"] is not None
    assert plans["/cds-services"] is None  # discovery: no body, not a coroutine


def test_the_app_serves_the_service_call_from_its_own_route(client: TestClient) -> None:
    """Not an included router (FastAPI would serve it with a handler of its own): the route's
    ASGI app, the direct call first (``_lean_app``)."""
    [route] = [
        r
        for r in client.app.router.routes  # type: ignore[attr-defined]
        if isinstance(r, APIRoute) and r.path == "/cds-services/{service_id}"
    ]
    assert route.app.__qualname__ == "_lean_app.<locals>.app"


def test_a_well_formed_call_skips_the_dependency_solver(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()
    solved: list[str] = []
    solve = fastapi.routing.solve_dependencies  # type: ignore[attr-defined]

    async def counting(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    body = json.dumps(_valid()).encode()
    for content_type in (JSON, "application/json; charset=utf-8", "application/fhir+json"):
        response = _post(client, body, content_type)
        assert response.status_code == 200, response.text
        assert response.json()["cards"]
    assert solved == []
    assert _post(client, body, "text/plain").status_code == 400  # FastAPI's handler answered
    assert solved == [URL]


BODY = json.dumps(_valid()).encode()
ODD_REQUESTS: list[tuple[str, bytes, str | None, str]] = [
    ("no content type", BODY, None, URL),
    ("text/plain", BODY, "text/plain", URL),
    ("two media types", BODY, "application/json, text/plain", URL),
    ("empty body", b"", JSON, URL),
    ("broken JSON", b'{"hook": ', JSON, URL),
    ("not UTF-8", b'{"hook": "\xff"}', JSON, URL),
    ("JSON null", b"null", JSON, URL),
    ("JSON array", b"[]", JSON, URL),
    ("no hook", json.dumps({"hookInstance": "x", "context": {}}).encode(), JSON, URL),
    ("hook not a string", json.dumps({**_valid(), "hook": 5}).encode(), JSON, URL),
    ("lone surrogate", BODY.replace(b'"order-select"', b'"order-select\\ud800"', 1), JSON, URL),
    ("NaN", BODY.replace(b"{", b'{"x": NaN, ', 1), JSON, URL),
    ("unknown service", BODY, JSON, "/cds-services/no-such-service"),
]


@pytest.mark.parametrize(
    ("content", "content_type", "url"),
    [r[1:] for r in ODD_REQUESTS],
    ids=[r[0] for r in ODD_REQUESTS],
)
def test_any_other_request_gets_fastapis_answer(
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    content_type: str | None,
    url: str,
) -> None:
    direct = _post(make_client(), content, content_type, url)
    monkeypatch.setattr(_DirectCall, "plan", classmethod(lambda cls, route: None))
    solver = _post(make_client(), content, content_type, url)
    assert direct.status_code == solver.status_code
    assert direct.headers["content-type"] == solver.headers["content-type"]
    if direct.status_code != 200:  # a 200 has fresh card ids
        assert direct.content == solver.content


class _Body(BaseModel):
    x: int


async def _forbid() -> None:
    raise HTTPException(403, "no")


_router = APIRouter(route_class=FastJsonRoute)


@_router.post("/echo")
async def _echo(body: _Body) -> JSONResponse:
    return JSONResponse({"x": body.x})


def test_dependencies_added_by_include_router_are_not_skipped() -> None:
    """An included route is served by the handler FastAPI builds from the inclusion (with the
    dependencies ``include_router`` adds), never by the route's direct call."""
    plain, guarded = FastAPI(), FastAPI()
    plain.include_router(_router)
    guarded.include_router(_router, dependencies=[Depends(_forbid)])
    assert TestClient(plain).post("/echo", json={"x": 1}).json() == {"x": 1}
    assert TestClient(guarded).post("/echo", json={"x": 1}).status_code == 403


def test_the_apps_dependency_overrides_apply(make_client: ClientFactory) -> None:
    """The routes are on the app's own router, so ``app.dependency_overrides`` reaches them
    (and a request with overrides in force goes through FastAPI's handler)."""
    client = make_client()

    async def refuse() -> None:
        raise Unauthorized("overridden")

    client.app.dependency_overrides[client_identity] = refuse  # type: ignore[attr-defined]
    assert _post(client, BODY, JSON).status_code == 401
    client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert _post(client, BODY, JSON).status_code == 200
