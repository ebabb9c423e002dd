"""Client authentication through the ASGI app (CDS Hooks 2.0 "Trusting CDS Clients"):
valid, wrong aud, expired, replayed, alg none, HS256, unknown kid, unlisted jku; bare 401;
the EHR token only ever goes to the issuer's allow-listed FHIR servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from app.api.auth_gate import AuthConfigError
from app.main import create_app
from tests.conftest import ClientFactory
from tests.fhir_builders import condition, draft, hook_request, v1_observations

BASE = "https://cds.example.org"
ISS = "https://ehr.example.org"
EHR_FHIR = "https://ehr.example.org/fhir"
KID = "ehr-key-1"


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def public_jwk(k: ec.EllipticCurvePrivateKey, kid: str = KID) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(k.public_key()))
    return {**jwk, "kid": kid, "alg": "ES384", "use": "sig"}


@pytest.fixture
def auth_client(
    make_client: ClientFactory, tmp_path: Path, key: ec.EllipticCurvePrivateKey
) -> TestClient:
    config = {
        "issuers": [
            {"iss": ISS, "jwks": {"keys": [public_jwk(key)]}, "fhir_servers": [EHR_FHIR]},
            {
                "iss": "https://other.example.org",
                "jku_allow": ["https://other.example.org/jwks.json"],
            },
        ]
    }
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(config))
    return make_client(
        auth_required=True, auth_config_file=path, public_base_url=BASE, environment="production"
    )


def token(key: Any, aud: str, alg: str = "ES384", kid: str = KID, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISS,
        "sub": "ehr-client",
        "aud": aud,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    headers = {"kid": kid, "typ": "JWT", **claims.pop("_headers", {})}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def assert_bare_401(r: Any) -> None:
    assert r.status_code == 401 and r.content == b"" and r.headers["www-authenticate"] == "Bearer"


def test_discovery_requires_a_valid_token(auth_client: TestClient, key: Any) -> None:
    assert_bare_401(auth_client.get("/cds-services"))
    r = auth_client.get("/cds-services", headers=bearer(token(key, f"{BASE}/cds-services")))
    assert r.status_code == 200 and len(r.json()["services"]) == 3


def test_service_call_with_valid_token(auth_client: TestClient, key: Any) -> None:
    url = "/cds-services/vcf-order-select"
    req = hook_request(
        "order-select",
        v1_observations(),
        conditions=[condition("c", "M81.0")],
        drafts=[draft("s", "72158")],
    )
    r = auth_client.post(url, json=req, headers=bearer(token(key, BASE + url)))
    assert r.status_code == 200 and r.json()["cards"]


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda k: token(k, f"{BASE}/cds-services/vcf-order-sign"), id="wrong-aud-other-endpoint"
        ),
        pytest.param(
            lambda k: token(k, "https://evil.example.org/cds-services"), id="wrong-aud-host"
        ),
        pytest.param(
            lambda k: token(
                k, f"{BASE}/cds-services", exp=int(time.time()) - 600, iat=int(time.time()) - 900
            ),
            id="expired",
        ),
        pytest.param(
            lambda k: token(k, f"{BASE}/cds-services", kid="unknown-kid"), id="unknown-kid"
        ),
        pytest.param(
            lambda k: token(k, f"{BASE}/cds-services", iss="https://stranger.example.org"),
            id="unlisted-issuer",
        ),
    ],
)
def test_invalid_tokens_are_bare_401(auth_client: TestClient, key: Any, make: Any) -> None:
    assert_bare_401(auth_client.get("/cds-services", headers=bearer(make(key))))


def test_replayed_token_is_rejected(auth_client: TestClient, key: Any) -> None:
    t = token(key, f"{BASE}/cds-services")
    assert auth_client.get("/cds-services", headers=bearer(t)).status_code == 200
    assert_bare_401(auth_client.get("/cds-services", headers=bearer(t)))


def b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_alg_none_is_rejected(auth_client: TestClient) -> None:
    now = int(time.time())
    claims = {"iss": ISS, "aud": f"{BASE}/cds-services", "exp": now + 300, "iat": now, "jti": "n1"}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{b64(claims)}."
    assert_bare_401(auth_client.get("/cds-services", headers=bearer(unsigned)))


def test_hs256_with_public_key_as_secret_is_rejected(auth_client: TestClient, key: Any) -> None:
    # the classic confusion attack: HMAC over the token with the server's public key as secret
    secret = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    claims = {"iss": ISS, "aud": f"{BASE}/cds-services", "exp": now + 300, "iat": now, "jti": "h1"}
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert_bare_401(auth_client.get("/cds-services", headers=bearer(forged)))


def test_unlisted_jku_is_rejected_without_fetching(auth_client: TestClient) -> None:
    attacker = ec.generate_private_key(ec.SECP384R1())
    now = int(time.time())
    claims = {
        "iss": "https://other.example.org",
        "aud": f"{BASE}/cds-services",
        "exp": now + 300,
        "iat": now,
        "jti": "j1",
    }
    t = jwt.encode(
        claims,
        attacker,
        algorithm="ES384",
        headers={"kid": "a", "typ": "JWT", "jku": "https://attacker.example.com/jwks.json"},
    )
    with respx.mock(assert_all_mocked=True) as mock:
        assert_bare_401(auth_client.get("/cds-services", headers=bearer(t)))
        assert not mock.calls


def test_token_only_sent_to_the_issuers_fhir_servers(auth_client: TestClient, key: Any) -> None:
    url = "/cds-services/vcf-order-select"
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", "72158")])
    del req["prefetch"]["observations"]  # required: must be fetched
    req["fhirServer"] = "https://not-this-issuers.example.net/fhir"
    req["fhirAuthorization"] = {
        "access_token": "EHR-TOKEN",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds",
    }
    with respx.mock(assert_all_mocked=True) as mock:
        r = auth_client.post(url, json=req, headers=bearer(token(key, BASE + url)))
        assert not mock.calls  # the EHR token never left the service
    assert r.status_code == 412
    req["fhirServer"] = EHR_FHIR
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(f"{EHR_FHIR}/Observation").respond(
            200, json={"resourceType": "Bundle", "type": "searchset", "entry": []}
        )
        mock.get(url__startswith=EHR_FHIR).respond(
            200, json={"resourceType": "Bundle", "type": "searchset"}
        )
        r = auth_client.post(url, json=req, headers=bearer(token(key, BASE + url)))
    assert r.status_code == 200 and route.called


def test_auth_on_without_config_stops_start_up(settings: Any) -> None:
    with pytest.raises(AuthConfigError, match="VCF_CDS_AUTH_CONFIG_FILE"):
        create_app(settings.model_copy(update={"auth_required": True, "auth_config_file": None}))


def test_auth_defaults(settings: Any) -> None:
    assert settings.model_copy(
        update={"auth_required": None, "environment": "production"}
    ).auth_enabled
    assert not settings.model_copy(
        update={"auth_required": None, "environment": "development"}
    ).auth_enabled


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/assessments"),
        ("GET", "/api/v1/audit/urn:uuid:x"),
        ("GET", "/api/v1/analytics"),
    ],
)
def test_phi_rest_endpoints_need_a_token(
    auth_client: TestClient, key: Any, method: str, path: str
) -> None:
    kwargs: dict[str, Any] = (
        {"json": {"resourceType": "Bundle", "type": "collection"}} if method == "POST" else {}
    )
    assert_bare_401(auth_client.request(method, path, **kwargs))
    r = auth_client.request(
        method, path, headers=bearer(token(key, BASE + path.split("?")[0])), **kwargs
    )
    assert r.status_code in (200, 404)


def test_score_endpoints_carry_no_phi_and_stay_open(auth_client: TestClient) -> None:
    assert auth_client.post("/api/v1/scores/escc", json={"grade": "2"}).status_code == 200


@pytest.mark.parametrize("body", [b"null", b"[]", b'{"hookInstance": "x"}', None])
def test_token_is_checked_before_the_body_and_a_400_does_not_spend_it(
    auth_client: TestClient, key: Any, body: bytes | None
) -> None:
    """No token: bare 401 whatever JSON the body holds (the dependency runs before the body is
    validated, on FastAPI's handler and on the route's direct call alike; a body that is not
    JSON at all is a 400 first, as FastAPI parses before solving). A valid token with a bad body: 400, and the same token
    then works with a corrected body (its jti was not spent)."""
    url = "/cds-services/vcf-order-select"
    req = hook_request("order-select", v1_observations(), drafts=[draft("s", "72158")])
    content = json.dumps(req).encode() if body is None else body
    headers = {"content-type": "application/json"}
    assert_bare_401(auth_client.post(url, content=content, headers=headers))
    if body is None:
        return
    t = bearer(token(key, BASE + url))
    assert auth_client.post(url, content=body, headers=headers | t).status_code == 400
    assert auth_client.post(url, json=req, headers=t).status_code == 200
