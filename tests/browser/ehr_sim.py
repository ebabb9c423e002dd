"""A loopback EHR simulator for the browser tests: a SMART App Launch 2.x authorization server,
a FHIR proxy in front of a real FHIR server (sekmet-fhir) and a tiny "EHR" page that plays the
CDS Hooks client. Nothing in it knows the VCF-CDS app: it follows the specifications only.

- ``<fhir base>/.well-known/smart-configuration``: SMART discovery (App Launch 2.x, section
  "Conformance"): authorization/token endpoints, capabilities, PKCE ``S256`` only.
- ``/authorize``: authorization code grant with PKCE (RFC 7636, S256 only). Checks the
  registered client and redirect URI (errors shown as a page, never redirected), ``aud`` equal to
  the FHIR base, ``state``, ``code_challenge``. EHR launch (``launch`` + scope ``launch``)
  resolves the launch id to its patient and appContext; a standalone launch asking for
  ``launch/patient`` shows a patient picker page (a person clicks a patient).
- ``/token``: code + ``code_verifier`` (public client), one use, short life; answers
  ``access_token``, ``scope``, ``patient`` and ``appContext`` when the launch carried one.
- ``<fhir base>/...``: the FHIR proxy. Needs ``Authorization: Bearer <token>`` (except
  ``metadata`` and the discovery document); enforces SMART v1/v2 scopes (read/search vs
  create/update/delete per resource type) and, for ``patient/`` scopes, the launch patient's
  compartment; forwards to the upstream server and rewrites its base URL to the proxy's.
- ``/ehr/order-select?patient=&order=``: the EHR's order entry. It discovers the CDS service's
  order-select hook, calls it (``fhirServer`` = this FHIR base, ``fhirAuthorization`` = a token
  this server minted), and shows the cards. A card's SMART link goes through ``/ehr/launch/...``,
  which registers a launch id carrying the link's appContext and redirects the browser to
  ``<link url>?iss=<fhir base>&launch=<id>`` (CDS Hooks 2.0 "Link", SMART "EHR launch").

CORS: the token endpoint and the FHIR proxy answer browser apps from any origin (SMART apps run
in the browser on another origin). All state is in memory; a server lives for one test module.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

FHIR_JSON = "application/fhir+json"
CODE_TTL_S = 60.0
LAUNCH_TTL_S = 600.0
TOKEN_TTL_S = 3600
# RFC 7636 section 4.1: code_verifier = 43..128 characters of [A-Z a-z 0-9 - . _ ~]
VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# SMART 2.x scope: context/Type.perms (v2: cruds subset in that order; v1: read|write|*)
SCOPE_RE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([cruds]+|read|write|\*)$")
LAUNCH_SCOPES = frozenset({"launch", "launch/patient", "online_access", "offline_access"})
CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "context-ehr-patient",
    "context-standalone-patient",
    "client-public",
    "permission-v2",
    "permission-v1",
    "permission-patient",
    "permission-user",
]
# the fields that place a resource in a patient's compartment (a small, common subset)
COMPARTMENT_FIELDS = ("subject", "patient", "beneficiary")


@dataclass(frozen=True)
class Client:
    """A registered public SMART client (an app an EHR administrator has enabled)."""

    client_id: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class DraftOrder:
    """A draft order the EHR page can put into order entry (a ServiceRequest coding)."""

    system: str
    code: str
    display: str


@dataclass
class Launch:
    patient: str
    app_context: str | None
    expires: float


@dataclass
class Grant:
    """What an authorization code stands for until the token endpoint redeems it."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    patient: str | None
    app_context: str | None
    expires: float


@dataclass
class Token:
    client_id: str
    scopes: frozenset[str]
    patient: str | None
    expires: float


@dataclass
class Permission:
    """One granted resource scope as (context, resource type, the cruds letters)."""

    context: str
    resource_type: str
    letters: frozenset[str]


@dataclass
class WriteRecord:
    """A write that went through the proxy (method, path, status): the tests read these."""

    method: str
    path: str
    status: int


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 section 4.2: BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def permissions(scopes: frozenset[str]) -> list[Permission]:
    """The resource scopes among ``scopes``: v1 ``read``/``write``/``*`` mapped to v2 letters
    (read -> rs, write -> cud). Scopes with a v2 query (``?category=``) are not granted."""
    out = []
    for s in scopes:
        m = SCOPE_RE.match(s)
        if not m:
            continue
        ctx, rtype, perms = m.groups()
        letters = {"read": "rs", "write": "cud", "*": "cruds"}.get(perms, perms)
        out.append(Permission(ctx, rtype, frozenset(letters)))
    return out


def grantable(scope: str) -> str:
    """The requested scopes this server grants: launch scopes and resource scopes (others,
    e.g. openid/fhirUser without an id_token issuer here, are dropped as OAuth 2 allows)."""
    keep = [s for s in scope.split() if s in LAUNCH_SCOPES or SCOPE_RE.match(s)]
    return " ".join(dict.fromkeys(keep))


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", **CORS},
    )


def _outcome(status: int, code: str, text: str) -> JSONResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=CORS)


CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Location, ETag, Content-Location, Last-Modified",
}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Accept, Prefer, If-Match",
    "Access-Control-Max-Age": "600",
}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
 body {{ font-family: sans-serif; margin: 1.5rem; color: #1a1a1a; background: #fff; }}
 .card {{ border: 1px solid #666; border-left-width: 6px; padding: .5rem 1rem; margin: .75rem 0; }}
 .card.critical {{ border-left-color: #a00; }} .card.warning {{ border-left-color: #8a5a00; }}
 .detail {{ white-space: pre-wrap; }}
 a, button {{ font-size: 1rem; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
{body}
</body></html>"""
    return HTMLResponse(doc, status_code=status)


class EhrSimulator:
    """The simulator's state and its ASGI app. ``base_url`` is known once bound; the FHIR base is
    ``<base_url>/fhir``. ``upstream`` is the real FHIR server's base URL; ``cds_base`` the CDS
    service's base URL (``<cds_base>/cds-services`` discovery)."""

    def __init__(
        self,
        upstream: str,
        clients: list[Client],
        cds_base: str | None = None,
        orders: Mapping[str, DraftOrder] | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.clients = {c.client_id: c for c in clients}
        self.cds_base = cds_base.rstrip("/") if cds_base else None
        self.orders = dict(orders or {})
        self.base_url = ""
        self.launches: dict[str, Launch] = {}
        self.pending: dict[str, Grant] = {}  # standalone requests waiting for a picked patient
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}
        self.writes: list[WriteRecord] = []
        self.hook_responses: dict[str, tuple[str, dict[str, Any]]] = {}
        self.hook_requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._http: httpx.AsyncClient | None = None
        # the EHR's CDS Hooks client key: ES384, a kid, a new jti per call (CDS Hooks 2.0
        # "Trusting CDS Clients"); the service trusts it through issuer_config()
        self._signing_key = ec.generate_private_key(ec.SECP384R1())
        self.kid = f"ehr-sim-{secrets.token_hex(4)}"
        self.app = Starlette(
            routes=[
                Route("/fhir/.well-known/smart-configuration", self.smart_configuration),
                Route("/.well-known/jwks.json", self.jwks),
                Route("/authorize", self.authorize, methods=["GET"]),
                Route("/authorize/select", self.select_patient, methods=["POST"]),
                Route("/token", self.token, methods=["POST", "OPTIONS"]),
                Route("/ehr/order-select", self.ehr_order_select, methods=["GET"]),
                Route("/ehr/launch/{response_id}/{card}/{link}", self.ehr_launch),
                Route(
                    "/fhir/{path:path}",
                    self.fhir_proxy,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                ),
                Route("/fhir", self.fhir_proxy, methods=["GET", "POST", "OPTIONS"]),
            ],
            lifespan=self._lifespan,
        )
        self.started = threading.Event()

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> Any:
        # pooled connections expire before the servers' keep-alive timeout (uvicorn: 5 s)
        limits = httpx.Limits(keepalive_expiry=2.0)
        async with httpx.AsyncClient(timeout=30.0, trust_env=False, limits=limits) as http:
            self._http = http
            self.started.set()
            yield
        self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        assert self._http is not None, "the simulator is not running"
        return self._http

    @property
    def fhir_base(self) -> str:
        return f"{self.base_url}/fhir"

    # -- EHR-side registrations (what a clinician's click or the EHR's launch does) -------------

    def register_client(self, client: Client) -> None:
        """Enable an app (what an EHR administrator does when installing it)."""
        with self._lock:
            self.clients[client.client_id] = client

    def register_launch(self, patient: str, app_context: str | None = None) -> str:
        """A new launch id for ``patient`` (and the appContext of a CDS Hooks card link)."""
        launch_id = secrets.token_urlsafe(16)
        with self._lock:
            self.launches[launch_id] = Launch(patient, app_context, time.time() + LAUNCH_TTL_S)
        return launch_id

    def mint_token(self, scope: str, patient: str | None, client_id: str = "ehr") -> str:
        """An access token issued by the EHR itself (e.g. the CDS Hooks fhirAuthorization)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.tokens[token] = Token(
                client_id, frozenset(scope.split()), patient, time.time() + TOKEN_TTL_S
            )
        return token

    def issuer_config(self) -> dict[str, Any]:
        """This EHR as a trusted CDS client issuer (the service's VCF_CDS_AUTH_CONFIG_FILE),
        its public key configured statically."""
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._signing_key.public_key()))
        return {
            "iss": self.base_url,
            "jwks": {"keys": [{**jwk, "kid": self.kid, "alg": "ES384", "use": "sig"}]},
            "fhir_servers": [self.fhir_base],
        }

    def client_jwt(self, endpoint: str) -> str:
        """The bearer JWT of one CDS Hooks call: aud = the exact endpoint URL, a new jti."""
        now = int(time.time())
        claims = {
            "iss": self.base_url,
            "sub": "ehr-sim",
            "aud": endpoint,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        headers = {"typ": "JWT", "kid": self.kid, "jku": f"{self.base_url}/.well-known/jwks.json"}
        return jwt.encode(claims, self._signing_key, algorithm="ES384", headers=headers)

    # -- SMART discovery, authorize, token ------------------------------------------------------

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": self.issuer_config()["jwks"]["keys"]})

    async def smart_configuration(self, request: Request) -> Response:
        doc = {
            "issuer": self.base_url,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "token_endpoint_auth_methods_supported": ["none"],
            "grant_types_supported": ["authorization_code"],
            "scopes_supported": [*sorted(LAUNCH_SCOPES), "patient/*.rs", "patient/*.cruds"],
            "response_types_supported": ["code"],
            "capabilities": CAPABILITIES,
            "code_challenge_methods_supported": ["S256"],
        }
        return JSONResponse(doc, headers=CORS)

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        # RFC 6749 4.1.2.1: a bad client or redirect URI is shown to the user, never redirected
        if client is None:
            return _page("Authorization error", "<p>Unknown client_id.</p>", 400)
        if redirect_uri not in client.redirect_uris:
            return _page("Authorization error", "<p>redirect_uri is not registered.</p>", 400)
        state = q.get("state", "")

        def fail(error: str, description: str) -> Response:
            params = {"error": error, "error_description": description}
            if state:
                params["state"] = state
            return RedirectResponse(with_query(redirect_uri, params), status_code=302)

        if q.get("response_type") != "code":
            return fail("unsupported_response_type", "response_type must be code")
        if not state:
            return fail("invalid_request", "state is required")
        if q.get("aud", "").rstrip("/") != self.fhir_base:
            return fail("invalid_request", f"aud must be the FHIR base URL {self.fhir_base}")
        challenge = q.get("code_challenge", "")
        if q.get("code_challenge_method") != "S256" or not re.fullmatch(
            r"[A-Za-z0-9_-]{43}", challenge
        ):
            return fail("invalid_request", "PKCE with code_challenge_method S256 is required")
        requested = q.get("scope", "").split()
        scope = grantable(q.get("scope", ""))
        grant = Grant(
            client.client_id, redirect_uri, challenge, scope, None, None, time.time() + CODE_TTL_S
        )
        launch_id = q.get("launch")
        if launch_id is not None:  # EHR launch
            if "launch" not in requested:
                return fail("invalid_scope", "an EHR launch needs the scope launch")
            with self._lock:
                launch = self.launches.get(launch_id)
            if launch is None or launch.expires < time.time():
                return fail("invalid_request", "unknown or expired launch")
            grant.patient, grant.app_context = launch.patient, launch.app_context
            return self._issue_code(grant, state)
        if "launch" in requested:
            return fail("invalid_scope", "scope launch needs a launch parameter (EHR launch)")
        if "launch/patient" in requested:  # standalone launch: the user picks a patient
            txn = secrets.token_urlsafe(16)
            with self._lock:
                self.pending[txn] = grant
            return await self._patient_picker(txn, state)
        return self._issue_code(grant, state)

    def _issue_code(self, grant: Grant, state: str) -> Response:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = grant
        return RedirectResponse(
            with_query(grant.redirect_uri, {"code": code, "state": state}), status_code=302
        )

    async def _patient_picker(self, txn: str, state: str) -> Response:
        r = await self.http.get(
            f"{self.upstream}/Patient", params={"_count": "50"}, headers={"Accept": FHIR_JSON}
        )
        patients = [e["resource"] for e in r.json().get("entry", []) if "resource" in e]
        items = []
        for p in patients:
            pid = str(p["id"])
            label = _patient_label(p)
            items.append(
                '<li><form method="post" action="/authorize/select">'
                f'<input type="hidden" name="txn" value="{html.escape(txn)}">'
                f'<input type="hidden" name="state" value="{html.escape(state)}">'
                f'<input type="hidden" name="patient" value="{html.escape(pid)}">'
                f'<button type="submit" data-patient="{html.escape(pid)}">'
                f"{html.escape(label)}</button></form></li>"
            )
        return _page("Select a patient", f"<ul>{''.join(items)}</ul>")

    async def select_patient(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        txn = form.get("txn", [""])[0]
        with self._lock:
            grant = self.pending.pop(txn, None)
        if grant is None:
            return _page("Authorization error", "<p>Unknown or used request.</p>", 400)
        grant.patient = form.get("patient", [""])[0] or None
        grant.expires = time.time() + CODE_TTL_S
        return self._issue_code(grant, form.get("state", [""])[0])

    async def token(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=PREFLIGHT)
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return _oauth_error(400, "invalid_request", "form-encoded body required")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "authorization_code only")
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)  # one use, even when it fails
        if grant is None or grant.expires < time.time():
            return _oauth_error(400, "invalid_grant", "unknown, used or expired code")
        if form.get("client_id") != grant.client_id:
            return _oauth_error(400, "invalid_client", "client_id does not match the code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if not VERIFIER_RE.match(verifier) or pkce_challenge(verifier) != grant.code_challenge:
            return _oauth_error(400, "invalid_grant", "code_verifier does not match (PKCE)")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self.tokens[token] = Token(
                grant.client_id,
                frozenset(grant.scope.split()),
                grant.patient,
                time.time() + TOKEN_TTL_S,
            )
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "scope": grant.scope,
        }
        if grant.patient:
            body["patient"] = grant.patient
            body["need_patient_banner"] = True
        if grant.app_context is not None:
            body["appContext"] = grant.app_context
        return JSONResponse(
            body, headers={"Cache-Control": "no-store", "Pragma": "no-cache", **CORS}
        )

    # -- FHIR proxy ----------------------------------------------------------------------------

    async def fhir_proxy(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=PREFLIGHT)
        path = request.path_params.get("path", "").strip("/")
        if path == "metadata" and request.method == "GET":
            return await self._forward(request, path, None)
        auth = request.headers.get("authorization", "")
        with self._lock:
            token = self.tokens.get(auth[7:]) if auth[:7].lower() == "bearer " else None
        if token is None or token.expires < time.time():
            return _outcome(401, "login", "a valid Bearer access token is required")
        parts = [p for p in path.split("/") if p]
        if not parts or not parts[0][:1].isupper():
            return _outcome(403, "forbidden", "system-level interactions are not allowed")
        rtype = parts[0]
        method = request.method
        if method == "GET":
            letter = "r" if len(parts) >= 2 and not parts[1].startswith("_") else "s"
        elif method == "POST":
            letter = "s" if parts[-1] == "_search" else "c"
        elif method in ("PUT", "PATCH"):
            letter = "u"
        else:
            letter = "d"
        grants = [
            p
            for p in permissions(token.scopes)
            if p.resource_type in ("*", rtype) and letter in p.letters
        ]
        if not grants:
            return _outcome(
                403, "forbidden", f"the token's scopes do not allow {letter} on {rtype}"
            )
        body = await request.body()
        # patient/ scopes reach only the token's patient's compartment; user/ scopes reach all
        patient_only = all(p.context == "patient" for p in grants)
        if patient_only:
            denied = self._outside_compartment(token, rtype, parts, letter, request, body)
            if denied:
                return _outcome(403, "forbidden", denied)
        response = await self._forward(request, path, body)
        if (
            patient_only
            and letter == "r"
            and response.status_code == 200
            and not _in_compartment(json.loads(bytes(response.body)), rtype, token.patient)
        ):
            return _outcome(403, "forbidden", "the resource is outside the patient's record")
        if method != "GET":
            with self._lock:
                self.writes.append(WriteRecord(method, path, response.status_code))
        return response

    def _outside_compartment(
        self,
        token: Token,
        rtype: str,
        parts: list[str],
        letter: str,
        request: Request,
        body: bytes,
    ) -> str | None:
        """Why a patient-scoped request leaves the token's patient compartment, or None."""
        pid = token.patient
        if pid is None:
            return "a patient/ scope needs a patient in context"
        if letter == "s":
            params = request.query_params
            if rtype == "Patient":
                ok = params.get("_id") == pid
            else:
                refs = {params.get("patient"), params.get("subject")} - {None}
                ok = bool(refs) and all(r in (pid, f"Patient/{pid}") for r in refs)
            return None if ok else f"searches must be limited to patient {pid}"
        if letter in ("c", "u"):
            try:
                resource = json.loads(body)
            except ValueError:
                return "the body is not JSON"
            if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
                return f"the body must be a {rtype}"
            if not _in_compartment(resource, rtype, pid):
                return f"the resource must belong to patient {pid}"
        if rtype == "Patient" and len(parts) >= 2 and parts[1] != pid:
            return f"only Patient/{pid} is in context"
        return None

    async def _forward(self, request: Request, path: str, body: bytes | None) -> Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("accept", "content-type", "prefer", "if-match", "if-none-exist")
        }
        upstream = await self.http.request(
            request.method,
            f"{self.upstream}/{path}",
            params=list(request.query_params.multi_items()),
            content=body,
            headers=headers,
        )
        content = upstream.content.replace(self.upstream.encode(), self.fhir_base.encode())
        out = dict(CORS)
        for name in ("content-type", "etag", "last-modified"):
            if name in upstream.headers:
                out[name] = upstream.headers[name]
        for name in ("location", "content-location"):
            if name in upstream.headers:
                out[name] = upstream.headers[name].replace(self.upstream, self.fhir_base)
        return Response(content, status_code=upstream.status_code, headers=out)

    # -- the EHR page: order entry calling the CDS service ------------------------------------

    async def ehr_order_select(self, request: Request) -> Response:
        patient = request.query_params.get("patient", "")
        order = self.orders.get(request.query_params.get("order", ""))
        if not patient or order is None or self.cds_base is None:
            return _page("Order entry", "<p>Unknown patient, order or no CDS service.</p>", 400)
        discovery = f"{self.cds_base}/cds-services"
        services = (
            await self.http.get(
                discovery, headers={"Authorization": f"Bearer {self.client_jwt(discovery)}"}
            )
        ).json()["services"]
        service = next((s for s in services if s.get("hook") == "order-select"), None)
        if service is None:
            return _page("Order entry", "<p>The CDS service offers no order-select hook.</p>", 502)
        draft = {
            "resourceType": "ServiceRequest",
            "id": f"draft-{uuid.uuid4().hex[:8]}",
            "status": "draft",
            "intent": "order",
            "code": {
                "coding": [{"system": order.system, "code": order.code, "display": order.display}]
            },
            "subject": {"reference": f"Patient/{patient}"},
        }
        hook = {
            "hookInstance": str(uuid.uuid4()),
            "hook": "order-select",
            "fhirServer": self.fhir_base,
            "fhirAuthorization": {
                "access_token": self.mint_token("patient/*.rs", patient),
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_S,
                "scope": "patient/*.rs",
                "subject": service["id"],
                "patient": patient,
            },
            "context": {
                "userId": "Practitioner/ehr-sim-clinician",
                "patientId": patient,
                "selections": [f"ServiceRequest/{draft['id']}"],
                "draftOrders": {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": draft}],
                },
            },
        }
        self.hook_requests.append(hook)
        endpoint = f"{self.cds_base}/cds-services/{service['id']}"
        r = await self.http.post(
            endpoint, json=hook, headers={"Authorization": f"Bearer {self.client_jwt(endpoint)}"}
        )
        if r.status_code != 200:
            return _page(
                "Order entry",
                f"<p>CDS service error {r.status_code}</p><pre>{html.escape(r.text)}</pre>",
                502,
            )
        response_id = uuid.uuid4().hex
        reply: dict[str, Any] = r.json()
        self.hook_responses[response_id] = (patient, reply)
        cards = "".join(_card_html(response_id, i, c) for i, c in enumerate(reply.get("cards", [])))
        body = (
            f"<p>Patient <b>{html.escape(patient)}</b> - draft order: "
            f"<b>{html.escape(order.display)}</b></p>"
            f'<section aria-label="CDS cards" id="cards">{cards or "<p>No cards.</p>"}</section>'
        )
        return _page("Order entry", body)

    async def ehr_launch(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        patient, reply = self.hook_responses[response_id]
        try:
            link = reply["cards"][int(request.path_params["card"])]["links"][
                int(request.path_params["link"])
            ]
        except (IndexError, KeyError, ValueError):
            return _page("Launch error", "<p>No such link.</p>", 404)
        if link.get("type") != "smart":
            return _page("Launch error", "<p>Not a SMART link.</p>", 400)
        launch_id = self.register_launch(patient, link.get("appContext"))
        return RedirectResponse(
            with_query(link["url"], {"iss": self.fhir_base, "launch": launch_id}), status_code=303
        )


def _patient_label(p: Mapping[str, Any]) -> str:
    names = p.get("name") or []
    if names:
        n = names[0]
        text = n.get("text") or " ".join([*n.get("given", []), n.get("family", "")]).strip()
        if text:
            return f"{text} (born {p.get('birthDate', 'unknown')})"
    return f"Patient {p['id']} (born {p.get('birthDate', 'unknown')})"


def _card_html(response_id: str, index: int, card: Mapping[str, Any]) -> str:
    links = []
    for j, link in enumerate(card.get("links", [])):
        label = html.escape(str(link.get("label", "link")))
        if link.get("type") == "smart":
            href = f"/ehr/launch/{response_id}/{index}/{j}"
            links.append(f'<a class="smart-link" href="{href}">{label}</a>')
        else:
            links.append(f'<a href="{html.escape(str(link.get("url", "")))}">{label}</a>')
    indicator = html.escape(str(card.get("indicator", "info")))
    return (
        f'<article class="card {indicator}" data-indicator="{indicator}">'
        f"<h2>{html.escape(str(card.get('summary', '')))}</h2>"
        f'<div class="detail">{html.escape(str(card.get("detail", "")))}</div>'
        f"<p>{' | '.join(links)}</p></article>"
    )


def _in_compartment(resource: Any, rtype: str, patient: str | None) -> bool:
    """Whether ``resource`` is ``Patient/<patient>`` or references it through a compartment
    field; a Bundle (search result) when every entry's resource is (or has no such field)."""
    if not isinstance(resource, dict) or patient is None:
        return False
    if resource.get("resourceType") == "Bundle":
        return all(
            _in_compartment(e.get("resource"), rtype, patient) for e in resource.get("entry", [])
        )
    if resource.get("resourceType") == "Patient":
        return resource.get("id") == patient
    for name in COMPARTMENT_FIELDS:
        ref = resource.get(name)
        if isinstance(ref, dict) and "reference" in ref:
            return str(ref["reference"]).rsplit("/", 2)[-2:] == ["Patient", patient]
    return False


class RunningSimulator:
    """The simulator served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, sim: EhrSimulator) -> None:
        self.sim = sim
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))  # bound here: no race for a "free" port
        self.sock.listen(128)
        port = self.sock.getsockname()[1]
        sim.base_url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(sim.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])),
            name="ehr-simulator",
            daemon=True,
        )

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        if not self.sim.started.wait(timeout):
            raise RuntimeError(f"the EHR simulator did not start within {timeout:g}s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@contextmanager
def run_simulator(sim: EhrSimulator) -> Iterator[EhrSimulator]:
    """Serve ``sim`` on a loopback port for the duration of the block."""
    running = RunningSimulator(sim)
    running.start()
    try:
        yield sim
    finally:
        running.stop()


__all__ = [
    "Client",
    "DraftOrder",
    "EhrSimulator",
    "pkce_challenge",
    "run_simulator",
]
