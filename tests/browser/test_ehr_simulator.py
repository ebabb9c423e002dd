"""The EHR simulator itself, driven by a plain PKCE client (httpx) - no browser needed: SMART
discovery, EHR and standalone launch, the token endpoint's PKCE checks, and the FHIR proxy's
token and scope enforcement against the real FHIR server behind it."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Stack
from tests.browser.scenario import OTHER_PATIENT, READ_PATIENT
from tests.browser.smart_client import (
    FHIR_JSON,
    authorize,
    authorize_params,
    ehr_launch_token,
    query_of,
    redeem,
)
from tests.fhir_builders import obs


@pytest.fixture
def http() -> Any:
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        yield client


def test_discovery_document(stack: Stack, http: httpx.Client) -> None:
    r = http.get(f"{stack.sim.fhir_base}/.well-known/smart-configuration")
    assert r.status_code == 200
    conf = r.json()
    assert conf["authorization_endpoint"] == f"{stack.sim.base_url}/authorize"
    assert conf["token_endpoint"] == f"{stack.sim.base_url}/token"
    assert conf["code_challenge_methods_supported"] == ["S256"]
    assert {
        "launch-ehr",
        "launch-standalone",
        "context-ehr-patient",
        "context-standalone-patient",
        "client-public",
        "permission-v2",
    } <= set(conf["capabilities"])
    assert r.headers["access-control-allow-origin"] == "*"  # browser apps read it


def test_ehr_launch_gives_patient_app_context_and_reads(stack: Stack, http: httpx.Client) -> None:
    context = '{"consultId":"urn:uuid:0b0e","orders":[]}'
    tok = ehr_launch_token(http, stack, READ_PATIENT, "patient/*.rs openid fhirUser", context)
    assert tok["patient"] == READ_PATIENT and tok["appContext"] == context
    assert tok["token_type"] == "Bearer" and tok["expires_in"] > 0
    assert tok["scope"].split() == ["launch", "patient/*.rs"]  # no id_token issuer: not granted
    auth = {"Authorization": f"Bearer {tok['access_token']}", "Accept": FHIR_JSON}
    r = http.get(f"{stack.sim.fhir_base}/Patient/{READ_PATIENT}", headers=auth)
    assert r.status_code == 200 and r.json()["name"][0]["family"] == "Reader"
    r = http.get(
        f"{stack.sim.fhir_base}/Observation", params={"patient": READ_PATIENT}, headers=auth
    )
    bundle = r.json()
    assert r.status_code == 200 and len(bundle["entry"]) == 2
    # the upstream's base URL never leaks: links and fullUrls point at the proxy
    assert stack.fhir_upstream not in r.text and stack.sim.fhir_base in r.text


def test_fhir_proxy_requires_a_valid_token(stack: Stack, http: httpx.Client) -> None:
    url = f"{stack.sim.fhir_base}/Patient/{READ_PATIENT}"
    assert http.get(url).status_code == 401
    assert http.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    r = http.get(f"{stack.sim.fhir_base}/metadata", headers={"Accept": FHIR_JSON})
    assert r.status_code == 200 and r.json()["resourceType"] == "CapabilityStatement"


def test_pkce_and_code_checks(stack: Stack, http: httpx.Client) -> None:
    launch = stack.sim.register_launch(READ_PATIENT)
    verifier = secrets.token_urlsafe(48)
    back = authorize(
        http, stack, authorize_params(stack, "launch patient/*.rs", verifier, launch=launch)
    )
    wrong = redeem(http, stack, back["code"], secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # a code is single-use: the failed attempt consumed it
    again = redeem(http, stack, back["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    back = authorize(
        http, stack, authorize_params(stack, "launch patient/*.rs", verifier, launch=launch)
    )
    other_client = redeem(http, stack, back["code"], verifier, client_id="someone-else")
    assert other_client.status_code == 400 and other_client.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"aud": "http://127.0.0.1:9/other-fhir"}, "invalid_request"),
        ({"state": ""}, "invalid_request"),
        ({"launch": "no-such-launch"}, "invalid_request"),
        ({"scope": "patient/*.rs"}, "invalid_scope"),  # launch id without scope launch
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_rejects_bad_requests_by_redirect(
    stack: Stack, http: httpx.Client, change: dict[str, str], error: str
) -> None:
    launch = stack.sim.register_launch(READ_PATIENT)
    params = authorize_params(
        stack, "launch patient/*.rs", secrets.token_urlsafe(48), launch=launch
    )
    back = authorize(http, stack, params | change)
    assert back["error"] == error and "code" not in back


@pytest.mark.parametrize(
    "change", [{"client_id": "unknown-app"}, {"redirect_uri": "http://127.0.0.1:9/evil"}]
)
def test_authorize_never_redirects_to_an_unregistered_client(
    stack: Stack, http: httpx.Client, change: dict[str, str]
) -> None:
    params = authorize_params(stack, "launch/patient patient/*.rs", secrets.token_urlsafe(48))
    r = http.get(f"{stack.sim.base_url}/authorize", params=params | change)
    assert r.status_code == 400 and "location" not in r.headers


def test_standalone_launch_with_patient_picker(stack: Stack, http: httpx.Client) -> None:
    verifier = secrets.token_urlsafe(48)
    params = authorize_params(stack, "launch/patient patient/*.rs", verifier)
    page = http.get(f"{stack.sim.base_url}/authorize", params=params)
    assert page.status_code == 200 and "Select a patient" in page.text
    assert f'data-patient="{READ_PATIENT}"' in page.text and "Margaret Reader" in page.text
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    assert txn is not None
    r = http.post(
        f"{stack.sim.base_url}/authorize/select",
        data={"txn": txn.group(1), "state": params["state"], "patient": READ_PATIENT},
    )
    assert r.status_code == 302
    back = query_of(r.headers["location"])
    assert back["state"] == params["state"]
    tok = redeem(http, stack, back["code"], verifier).json()
    assert tok["patient"] == READ_PATIENT and "appContext" not in tok
    assert tok["scope"].split() == ["launch/patient", "patient/*.rs"]


def test_read_scope_cannot_write_and_compartment_is_enforced(
    stack: Stack, http: httpx.Client
) -> None:
    tok = ehr_launch_token(http, stack, READ_PATIENT, "patient/*.rs")
    auth = {"Authorization": f"Bearer {tok['access_token']}", "Content-Type": FHIR_JSON}
    new = obs("w1", "symptomatic", True)
    new.pop("id")
    new["subject"] = {"reference": f"Patient/{READ_PATIENT}"}
    r = http.post(f"{stack.sim.fhir_base}/Observation", json=new, headers=auth)
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    # another patient's record: read, search and a search without a patient are refused
    assert (
        http.get(f"{stack.sim.fhir_base}/Patient/{OTHER_PATIENT}", headers=auth).status_code == 403
    )
    r = http.get(f"{stack.sim.fhir_base}/Observation/{OTHER_PATIENT}-o-x", headers=auth)
    assert r.status_code == 403
    r = http.get(
        f"{stack.sim.fhir_base}/Observation", params={"patient": OTHER_PATIENT}, headers=auth
    )
    assert r.status_code == 403
    assert http.get(f"{stack.sim.fhir_base}/Observation", headers=auth).status_code == 403


def test_write_scope_creates_in_the_real_server_only_for_the_patient(
    stack: Stack, http: httpx.Client
) -> None:
    tok = ehr_launch_token(
        http, stack, OTHER_PATIENT, "patient/Patient.rs patient/Observation.cruds"
    )
    auth = {"Authorization": f"Bearer {tok['access_token']}", "Content-Type": FHIR_JSON}
    new = obs("w2", "multiple-vcfs", False)
    new.pop("id")
    new["subject"] = {"reference": f"Patient/{OTHER_PATIENT}"}
    r = http.post(f"{stack.sim.fhir_base}/Observation", json=new, headers=auth)
    assert r.status_code == 201, r.text
    assert r.headers["location"].startswith(stack.sim.fhir_base + "/Observation/")
    created_id = r.json()["id"]
    # really in sekmet, behind the proxy
    direct = httpx.get(f"{stack.fhir_upstream}/Observation/{created_id}", trust_env=False)
    assert (
        direct.status_code == 200
        and direct.json()["subject"]["reference"] == f"Patient/{OTHER_PATIENT}"
    )
    # the same scope cannot write into another patient's record, nor touch other types
    new["subject"] = {"reference": f"Patient/{READ_PATIENT}"}
    assert (
        http.post(f"{stack.sim.fhir_base}/Observation", json=new, headers=auth).status_code == 403
    )
    cond = {"resourceType": "Condition", "subject": {"reference": f"Patient/{OTHER_PATIENT}"}}
    assert http.post(f"{stack.sim.fhir_base}/Condition", json=cond, headers=auth).status_code == 403


def test_cors_preflight_for_browser_apps(stack: Stack, http: httpx.Client) -> None:
    r = http.options(
        f"{stack.sim.fhir_base}/Observation",
        headers={
            "Origin": stack.service_url,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 204
    assert "Authorization" in r.headers["access-control-allow-headers"]
    assert "POST" in r.headers["access-control-allow-methods"]


def test_ehr_page_calls_the_order_select_hook_through_the_proxy(
    stack: Stack, http: httpx.Client
) -> None:
    before = len(stack.sim.hook_requests)
    r = http.get(
        f"{stack.sim.base_url}/ehr/order-select",
        params={"patient": READ_PATIENT, "order": "mri-lumbar"},
    )
    assert r.status_code == 200, r.text
    assert 'class="card' in r.text
    [hook] = stack.sim.hook_requests[before:]
    assert hook["fhirServer"] == stack.sim.fhir_base and "prefetch" not in hook
    assert hook["fhirAuthorization"]["patient"] == READ_PATIENT
    # the service runs with client authentication on: the same call without the EHR's signed
    # JWT is refused, so the page's call above was authenticated
    unsigned = http.post(f"{stack.service_url}/cds-services/vcf-order-select", json=hook)
    assert unsigned.status_code == 401
