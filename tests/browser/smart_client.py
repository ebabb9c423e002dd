"""A plain SMART App Launch 2.x public client (httpx, PKCE S256) for tests against the EHR
simulator: discovery, authorize, token."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.browser.conftest import TEST_CLIENT, Stack
from tests.browser.ehr_sim import pkce_challenge

REDIRECT = TEST_CLIENT.redirect_uris[0]
FHIR_JSON = "application/fhir+json"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def authorize_params(stack: Stack, scope: str, verifier: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": TEST_CLIENT.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "st-" + secrets.token_hex(4),
        "aud": stack.sim.fhir_base,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        **extra,
    }


def authorize(http: httpx.Client, stack: Stack, params: dict[str, str]) -> dict[str, str]:
    """GET /authorize (the endpoint from discovery); the redirect's query parameters."""
    conf = http.get(f"{stack.sim.fhir_base}/.well-known/smart-configuration").json()
    r = http.get(conf["authorization_endpoint"], params=params)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return query_of(location)


def redeem(
    http: httpx.Client, stack: Stack, code: str, verifier: str, **override: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": TEST_CLIENT.client_id,
        "code_verifier": verifier,
        **override,
    }
    return http.post(f"{stack.sim.base_url}/token", data=form)


def ehr_launch_token(
    http: httpx.Client, stack: Stack, patient: str, scope: str, app_context: str | None = None
) -> dict[str, Any]:
    """The whole EHR launch: launch id -> authorize -> code -> token; the token response."""
    launch = stack.sim.register_launch(patient, app_context)
    verifier = secrets.token_urlsafe(48)
    params = authorize_params(stack, f"launch {scope}", verifier, launch=launch)
    back = authorize(http, stack, params)
    assert back["state"] == params["state"] and "code" in back, back
    r = redeem(http, stack, back["code"], verifier)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    return body
