"""Locust users for the replica test (run by tests/scaleout/test_replicas.py as a subprocess:
``locust -f tests/scaleout/locustfile.py --headless ...``; not a pytest module).

Each iteration of a user:

1. an order-select call through HAProxy with a fresh signed token (acknowledged: 200);
2. the same token replayed straight to the *other* replica (must be 401);
3. (when ``VCF_TEST_FEEDBACK=1``) the same feedback on the first card sent to both replicas
   straight (each time with its own token: both answers 200, one row stored).

Every outcome is appended as a JSON line to ``VCF_TEST_RESULTS`` (one file per user process,
lines written with one ``write`` call each, flushed at once so the test can watch progress).
A user stops after ``VCF_TEST_ITERATIONS`` iterations; when all ``VCF_TEST_USERS`` have, the
run ends (``--run-time`` bounds it as well).

Environment: ``VCF_TEST_KEY_FILE`` (PEM, EC P-384 private key of the test issuer),
``VCF_TEST_ISS``, ``VCF_TEST_KID``, ``VCF_TEST_BASE`` (the public base URL, part of ``aud``),
``VCF_TEST_REPLICAS`` (JSON: server name -> URL), ``VCF_TEST_BODY`` (JSON file: the hook
request).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from locust import HttpUser, task
from locust.exception import StopUser

CONSULT = "http://fhir.org/argonaut/Extension/pama-rating-consult-id"
SERVICE = "vcf-order-select"

KEY = load_pem_private_key(Path(os.environ["VCF_TEST_KEY_FILE"]).read_bytes(), password=None)
ISS = os.environ["VCF_TEST_ISS"]
KID = os.environ["VCF_TEST_KID"]
BASE = os.environ["VCF_TEST_BASE"]
REPLICAS: dict[str, str] = json.loads(os.environ["VCF_TEST_REPLICAS"])
BODY = json.loads(Path(os.environ["VCF_TEST_BODY"]).read_text())
RESULTS = Path(os.environ["VCF_TEST_RESULTS"])
ITERATIONS = int(os.environ.get("VCF_TEST_ITERATIONS", "20"))
FEEDBACK = os.environ.get("VCF_TEST_FEEDBACK") == "1"
USERS = int(os.environ.get("VCF_TEST_USERS", "1"))

_write_lock = threading.Lock()
_finished = 0  # users that ran all their iterations; the last one ends the run


def record(**fields: Any) -> None:
    line = json.dumps({"t": time.time(), **fields}) + "\n"
    with _write_lock, RESULTS.open("a") as out:
        out.write(line)
        out.flush()


def token(path: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "sub": "locust",
        "aud": BASE + path,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})  # type: ignore[arg-type]


def consult_id_of(body: dict[str, Any]) -> str | None:
    for action in body.get("systemActions", []):
        for ext in action.get("resource", {}).get("extension", []):
            if ext.get("url") == CONSULT:
                return str(ext["valueUri"])
    return None


class HookClient(HttpUser):
    """One EHR client: hook call, replay to the other replica, duplicate feedback."""

    def on_start(self) -> None:
        self.done = 0

    @task
    def consult(self) -> None:
        if self.done >= ITERATIONS:
            global _finished
            _finished += 1
            if _finished >= USERS and self.environment.runner is not None:
                gevent.spawn_later(0.1, self.environment.runner.quit)
            raise StopUser()
        self.done += 1
        path = f"/cds-services/{SERVICE}"
        signed = token(path)
        headers = {"Authorization": f"Bearer {signed}"}
        with self.client.post(path, json=BODY, headers=headers, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"hook {r.status_code}")
                record(kind="hook", status=r.status_code)
                return
            body = r.json()
            served = r.headers.get("X-Served-By", "")
            record(kind="hook", status=200, consult_id=consult_id_of(body), served_by=served)
        others = [name for name in REPLICAS if name != served]
        if not others:
            return
        other = others[0]
        with self.client.post(
            REPLICAS[other] + path,
            json=BODY,
            headers=headers,
            name="replay to the other replica",
            catch_response=True,
        ) as replay:
            if replay.status_code == 401:
                replay.success()
            else:
                replay.failure(f"replay answered {replay.status_code}")
            record(kind="replay", status=replay.status_code, replica=other, served_by=served)
        if FEEDBACK and body.get("cards"):
            self.feedback(body["cards"][0]["uuid"])

    def feedback(self, card: str) -> None:
        path = f"/cds-services/{SERVICE}/feedback"
        item = {
            "card": card,
            "outcome": "overridden",
            "overrideReason": {"userComment": "load test"},
            "outcomeTimestamp": "2026-12-04T12:00:00Z",
        }
        for name, url in REPLICAS.items():
            status = 0
            deadline = time.monotonic() + 5.0
            while True:  # the card is stored by the audit writer within ~50 ms of the call
                headers = {"Authorization": f"Bearer {token(path)}"}
                with self.client.post(
                    url + path,
                    json={"feedback": [item]},
                    headers=headers,
                    name=f"feedback to {name}",
                    catch_response=True,
                ) as r:
                    status = r.status_code
                    if status == 404 and time.monotonic() < deadline:
                        r.success()  # not yet committed: ask again
                        time.sleep(0.05)
                        continue
                    if status != 200:
                        r.failure(f"feedback {status}")
                break
            record(kind="feedback", status=status, card=card, replica=name)
