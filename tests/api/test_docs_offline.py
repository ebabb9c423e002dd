"""/docs is Swagger UI from packaged assets: no URL in the page leaves this service."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

REFERENCE = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")


def test_docs_page_loads_swagger_ui_from_this_service_only(client: Any) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "SwaggerUIBundle" in html
    assert "cdn" not in html.lower() and "jsdelivr" not in html and "unpkg" not in html
    refs = REFERENCE.findall(html)
    assert {"/openapi.json"} < set(refs), refs
    assert not re.search(r"https?://", html), "an absolute URL in the docs page"
    loaded = 0
    for ref in refs:
        assert not urlsplit(ref).netloc, ref  # every reference is served by this app
        asset = client.get(urljoin("http://testserver/docs", ref))
        assert asset.status_code == 200, ref
        assert asset.content, ref
        loaded += 1
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert len(js.content) > 100_000  # the real Swagger UI bundle, not a stub
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert loaded >= 4  # js, css, favicon, openapi.json


def test_swagger_ui_renders_openapi_3_1(client: Any) -> None:
    """FastAPI emits OpenAPI 3.1, which Swagger UI renders from major version 5 on."""
    from app.api.docs_ui import swagger_assets_dir

    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    m = re.fullmatch(r"swagger-ui-(\d+)\.\d+\.\d+", swagger_assets_dir().name)
    assert m is not None and int(m.group(1)) >= 5, swagger_assets_dir()
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_redoc_is_off(client: Any) -> None:
    assert client.get("/redoc").status_code == 404
