"""Two replicas behind HAProxy on one PostgreSQL, driven by locust (loopback, bounded in users,
iterations and run time):

- a signed token used at one replica is refused (401) at the other: the jti replay store is
  in PostgreSQL, not per process;
- the same feedback sent to both replicas is stored once;
- SIGTERM drains each worker's audit queue (no acknowledged record lost); SIGKILL of a whole
  replica loses at most the records acknowledged within the documented crash window
  (app/audit/recorder.py: entries submitted in the last ~50 ms), everything spooled is
  replayed when the replica comes back.

Needs haproxy (scripts/install_haproxy.sh) and PostgreSQL's server binaries
(scripts/install_postgres.sh): skipped locally without them, a failure in CI. Run with ``-s``
to see the counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from sqlalchemy import Engine, create_engine, func, select

from app.db.migrate import upgrade
from app.db.models import AuditRecord, Feedback
from tests.db_fixtures import _postgres_available
from tests.fhir_builders import condition, draft, hook_request, v1_observations
from tests.scaleout.cluster import (
    ROOT,
    HAProxy,
    Replica,
    find_haproxy,
    locust_command,
    read_results,
    wait_for,
)

ISS = "https://ehr.example.org"
KID = "replica-test-key"
SERVICE = "vcf-order-select"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# The recorder's documented crash window is ~max_wait_ms (50 ms) plus one fsync. Two shared,
# loaded cores delay threads and the client's clock reading, so the test allows 1 s and prints
# the age actually measured.
CRASH_WINDOW_TOLERANCE_S = 1.0


def _require_servers() -> str:
    haproxy = find_haproxy()
    missing = []
    if haproxy is None:
        missing.append("haproxy (scripts/install_haproxy.sh)")
    if not _postgres_available():
        missing.append("PostgreSQL server binaries (scripts/install_postgres.sh)")
    if missing:
        reason = "the replica test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + ": required in CI")
        pytest.skip(reason)
    assert haproxy is not None
    return haproxy


@dataclass
class Cluster:
    a: Replica
    b: Replica
    lb: HAProxy
    engine: Engine
    key: ec.EllipticCurvePrivateKey
    base: str
    workdir: Path
    body_file: Path
    key_file: Path

    def token(self, path: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISS,
            "sub": "replica-test",
            "aud": self.base + path,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": KID})

    def consults_in_db(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(AuditRecord.consult_id)))

    def run_locust(
        self, name: str, users: int, iterations: int, feedback: bool, run_time_s: int = 120
    ) -> tuple[subprocess.Popen[bytes], Path]:
        results = self.workdir / f"{name}.jsonl"
        env = {
            **os.environ,
            "VCF_TEST_KEY_FILE": str(self.key_file),
            "VCF_TEST_ISS": ISS,
            "VCF_TEST_KID": KID,
            "VCF_TEST_BASE": self.base,
            "VCF_TEST_REPLICAS": json.dumps({"a": self.a.url, "b": self.b.url}),
            "VCF_TEST_BODY": str(self.body_file),
            "VCF_TEST_RESULTS": str(results),
            "VCF_TEST_ITERATIONS": str(iterations),
            "VCF_TEST_FEEDBACK": "1" if feedback else "0",
        }
        args, env = locust_command(LOCUSTFILE, self.lb.url, users, run_time_s, env)
        out = (self.workdir / f"{name}.locust.json").open("wb")
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE
        )
        out.close()
        return proc, results


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": KID, "alg": "ES384", "use": "sig"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    haproxy = _require_servers()
    from tests.support.postgres import PostgresServer

    workdir = tmp_path_factory.mktemp("replicas")
    key = ec.generate_private_key(ec.SECP384R1())
    key_file = workdir / "issuer.pem"
    key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    auth = workdir / "issuers.json"
    auth.write_text(json.dumps({"issuers": [{"iss": ISS, "jwks": {"keys": [_public_jwk(key)]}}]}))
    body = hook_request(
        "order-select",
        v1_observations(),
        conditions=[condition("c", "M81.0")],
        drafts=[draft("s", "72158")],
    )
    body_file = workdir / "hook.json"
    body_file.write_text(json.dumps(body))

    lb = HAProxy(haproxy, workdir)
    base = lb.url  # what clients call: the aud of every token
    with PostgresServer() as pg:
        upgrade(pg.url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VCF_CDS_")}
        env |= {
            "VCF_CDS_ENVIRONMENT": "production",
            "VCF_CDS_DATABASE_URL": pg.url,
            "VCF_CDS_PUBLIC_BASE_URL": base,
            "VCF_CDS_AUTH_CONFIG_FILE": str(auth),
            "VCF_CDS_AUDIT_SECRET": "replica-test-secret",
            "VCF_CDS_GRACEFUL_TIMEOUT": "20",
        }
        a = Replica("a", env, workdir, workers=2)  # SIGTERM must drain both workers
        b = Replica("b", env, workdir, workers=1)
        engine = create_engine(pg.url)
        try:
            a.start()
            b.start()
            lb.start([a, b])
            wait_for("both replicas behind haproxy", lambda: lb.serving() == {"a", "b"}, 30)
            yield Cluster(a, b, lb, engine, key, base, workdir, body_file, key_file)
        finally:
            lb.stop()
            a.stop_quietly()
            b.stop_quietly()
            engine.dispose()


def _hook(url: str, cluster: Cluster, token: str) -> httpx.Response:
    body = json.loads(cluster.body_file.read_text())
    return httpx.post(
        f"{url}/cds-services/{SERVICE}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30.0,
    )


def test_a_token_used_at_one_replica_is_refused_at_the_other(cluster: Cluster) -> None:
    path = f"/cds-services/{SERVICE}"
    for first, second in [(cluster.a, cluster.b), (cluster.b, cluster.a)] * 3:
        signed = cluster.token(path)
        assert _hook(first.url, cluster, signed).status_code == 200
        replay = _hook(second.url, cluster, signed)
        assert replay.status_code == 401 and replay.content == b""
        assert _hook(cluster.lb.url, cluster, signed).status_code == 401


def _finish(proc: subprocess.Popen[bytes], timeout: float = 180) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError("locust did not finish in time") from None
    return proc.returncode, err.decode(errors="replace")[-3000:]


def _locust_totals(cluster: Cluster, name: str) -> dict[str, int]:
    stats = json.loads((cluster.workdir / f"{name}.locust.json").read_text() or "[]")
    return {
        "requests": sum(int(s["num_requests"]) for s in stats),
        "failures": sum(int(s["num_failures"]) for s in stats),
    }


def test_locust_through_haproxy_replay_and_feedback_hold_across_replicas(
    cluster: Cluster,
) -> None:
    users, iterations = 4, 12
    proc, results_file = cluster.run_locust("load", users, iterations, feedback=True)
    rc, err = _finish(proc)
    results = read_results(results_file)
    totals = _locust_totals(cluster, "load")
    hooks = [r for r in results if r["kind"] == "hook"]
    replays = [r for r in results if r["kind"] == "replay"]
    feedback = [r for r in results if r["kind"] == "feedback"]
    cards = {r["card"] for r in feedback}
    print(
        f"\nlocust: {totals['requests']} requests, {totals['failures']} failures; "
        f"hook calls {len(hooks)} (served by a: "
        f"{sum(r.get('served_by') == 'a' for r in hooks)}, b: "
        f"{sum(r.get('served_by') == 'b' for r in hooks)}); replays rejected "
        f"{sum(r['status'] == 401 for r in replays)}/{len(replays)}; feedback posts "
        f"{len(feedback)} for {len(cards)} cards"
    )
    assert rc == 0, err
    assert totals["failures"] == 0
    assert len(hooks) == users * iterations and all(r["status"] == 200 for r in hooks)
    assert {r["served_by"] for r in hooks} == {"a", "b"}  # the proxy used both replicas
    assert len(replays) == len(hooks) and all(r["status"] == 401 for r in replays)
    assert {r["replica"] for r in replays} == {"a", "b"}
    assert len(feedback) == 2 * len(hooks) and all(r["status"] == 200 for r in feedback)
    with cluster.engine.connect() as conn:
        rows = dict(
            conn.execute(
                select(Feedback.card_uuid, func.count())
                .where(Feedback.card_uuid.in_(cards))
                .group_by(Feedback.card_uuid)
            ).all()
        )
    print(f"feedback rows stored: {sum(rows.values())} for {len(cards)} cards (2 posts each)")
    assert rows == dict.fromkeys(cards, 1)
    acked = {r["consult_id"] for r in hooks}
    wait_for(
        "every acknowledged consult in the audit table",
        lambda: acked <= cluster.consults_in_db(),
        20,
    )


def _load_until(
    cluster: Cluster, name: str, replica: str, acks: int
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a hook-only locust run and return once ``replica`` has acknowledged ``acks``."""
    proc, results_file = cluster.run_locust(name, users=4, iterations=25, feedback=False)

    def enough() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"locust ended early: {proc.stderr.read() if proc.stderr else ''!r}"
            )
        done = read_results(results_file)
        return len(_acked_by(done, replica)) >= acks

    wait_for(f"{acks} calls acknowledged by replica {replica}", enough, 120)
    return proc, results_file


def _failover_then_stop(
    proc: subprocess.Popen[bytes], results_file: Path, survivor: str, more: int = 10
) -> None:
    """Wait until ``survivor`` acknowledged ``more`` further calls (the proxy moved the load
    over), then end the locust run (SIGTERM: it quits and keeps its output)."""
    start = len(_acked_by(read_results(results_file), survivor))
    wait_for(
        f"{more} more calls served by replica {survivor}",
        lambda: (
            proc.poll() is not None
            or len(_acked_by(read_results(results_file), survivor)) >= start + more
        ),
        120,
    )
    if proc.poll() is None:
        proc.terminate()
    _finish(proc, 60)


def _acked_by(results: list[dict[str, Any]], replica: str) -> dict[str, float]:
    return {
        r["consult_id"]: r["t"]
        for r in results
        if r["kind"] == "hook" and r["status"] == 200 and r.get("served_by") == replica
    }


def test_sigterm_drains_every_acknowledged_audit_record(cluster: Cluster) -> None:
    proc, results_file = _load_until(cluster, "sigterm", "a", acks=20)
    log_size = cluster.a.log_file.stat().st_size
    rc = cluster.a.terminate()  # under load: each of its 2 workers drains its queue
    in_db = cluster.consults_in_db()  # read at once: nothing may be left for later
    acked_a = _acked_by(read_results(results_file), "a")
    lost = set(acked_a) - in_db
    print(f"\nSIGTERM: replica a acknowledged {len(acked_a)}, lost {len(lost)} (exit code {rc})")
    assert rc == 0, cluster.a.log_tail()
    assert not lost
    shutdown_log = cluster.a.log_file.read_bytes()[log_size:].decode(errors="replace")
    # each worker ran the lifespan shutdown (audit_recorder.stop()) on the supervisor's SIGTERM
    assert shutdown_log.count("Application shutdown complete") == cluster.a.workers, shutdown_log
    assert "spooling" not in shutdown_log  # drained to the database, not the spool
    assert not cluster.a.spool_segments()  # nothing left for a volume that may not outlive it
    _failover_then_stop(proc, results_file, "b")
    cluster.a.start()
    wait_for("a back behind haproxy", lambda: cluster.lb.serving() == {"a", "b"}, 30)


def test_sigkill_loses_nothing_acknowledged_before_the_crash_window(cluster: Cluster) -> None:
    proc, results_file = _load_until(cluster, "sigkill", "b", acks=20)
    killed_at = time.time()
    cluster.b.kill()
    _failover_then_stop(proc, results_file, "a")
    results = read_results(results_file)
    acked_b = _acked_by(results, "b")
    acked_a = _acked_by(results, "a")
    # the crashed replica's spool is replayed when it comes back (a restarted container
    # with the same emptyDir): only entries that were in memory can be lost
    spooled = len(cluster.b.spool_segments())
    cluster.b.start()
    wait_for("b's spool replayed", lambda: not cluster.b.spool_segments(), 30)
    wait_for("a's records stored", lambda: set(acked_a) <= cluster.consults_in_db(), 20)
    in_db = cluster.consults_in_db()
    lost = {cid: killed_at - t for cid, t in acked_b.items() if cid not in in_db}
    oldest = max(lost.values(), default=0.0)
    print(
        f"\nSIGKILL: replica b acknowledged {len(acked_b)}, lost {len(lost)} "
        f"(kill time minus the oldest lost acknowledgement: {oldest * 1000:.0f} ms; "
        f"documented window ~50 ms); "
        f"spool segments replayed after restart: {spooled}; replica a acknowledged "
        f"{len(acked_a)}, lost {len(set(acked_a) - in_db)}"
    )
    assert acked_b, "b acknowledged nothing before the kill"
    assert oldest <= CRASH_WINDOW_TOLERANCE_S, lost
    assert set(acked_a) <= in_db
    wait_for("b back behind haproxy", lambda: cluster.lb.serving() == {"a", "b"}, 30)
