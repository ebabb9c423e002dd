"""The SMART app's pages and configuration as served: content types, security headers, no
external URL anywhere in the packaged files (hospitals run offline networks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.smart.routes import STATIC

FILES = {
    "launch.html": "text/html",
    "index.html": "text/html",
    "app.css": "text/css",
    "app.js": "text/javascript",
    "launch.js": "text/javascript",
    "smart.js": "text/javascript",
}
# an absolute URL to some host: http(s)://, or protocol-relative //host in src/href/url()/import
EXTERNAL = re.compile(
    r"""https?://|(?:src|href)\s*=\s*["']//|url\(\s*["']?//|from\s+["']//|import\(\s*["']//""",
    re.IGNORECASE,
)


def test_every_packaged_file_is_listed() -> None:
    assert {p.name for p in STATIC.iterdir() if p.is_file()} == set(FILES)


@pytest.mark.parametrize("path", sorted(STATIC.iterdir()), ids=lambda p: p.name)
def test_no_external_url_in_static_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert EXTERNAL.findall(text) == [], f"{path.name} refers to another host"


def test_the_external_url_check_can_fail() -> None:
    assert EXTERNAL.search('<script src="https://cdn.example.org/x.js"></script>')
    assert EXTERNAL.search('<link href="//fonts.example.org/a.css">')
    assert EXTERNAL.search("@import url('//fonts.example.org/a.css');")
    assert not EXTERNAL.search('<script type="module" src="app.js"></script>')


@pytest.mark.parametrize(("name", "content_type"), sorted(FILES.items()))
def test_files_are_served_with_their_content_type(
    client: TestClient, name: str, content_type: str
) -> None:
    r = client.get(f"/app/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == content_type
    assert r.content == (STATIC / name).read_bytes()
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_pages_have_landmarks_skip_link_and_testable_controls(client: TestClient) -> None:
    page = client.get("/app/index.html").text
    for needle in (
        '<html lang="en">',
        'class="skip-link" href="#main"',
        '<main id="main"',
        "<header",
        "<nav",
        "<footer",
        'aria-live="polite"',
        'data-testid="rating-change"',
        'data-testid="missing-form"',
        'data-testid="write-back"',
        'id="print-button"',
    ):
        assert needle in page, needle
    assert "<script>" not in page and "style=" not in page  # no inline code (CSP)
    css = (STATIC / "app.css").read_text()
    assert "@media print" in css and ":focus-visible" in css


def test_directory_serves_the_app_page(client: TestClient) -> None:
    r = client.get("/app/")
    assert r.status_code == 200 and "VCF workspace" in r.text


def test_config_json(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(
            update={
                "fhir_server_allowlist": ["https://ehr.example.org/fhir/"],
                "smart_client_id": "site-client",
            }
        )
    )
    with TestClient(app) as client:
        r = client.get("/app/config.json")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["clientId"] == "site-client"
    assert body["fhirServers"] == ["https://ehr.example.org/fhir"]
    assert body["redirectPath"] == "/app/index.html"
    assert body["assessmentPath"] == "/app/api/assessment"
    scopes = body["scopes"].split()
    assert "openid" in scopes and "fhirUser" in scopes
    assert "patient/Observation.rs" in scopes and "patient/Observation.c" in scopes
    assert "launch" not in scopes  # added by the page: launch (EHR) or launch/patient


def test_app_can_be_switched_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"smart_app_enabled": False}))) as c:
        assert c.get("/app/index.html").status_code == 404
        assert c.get("/app/config.json").status_code == 404
        assert c.post("/app/api/assessment", json={}).status_code == 404
