"""ASGI application ``app.main:app``: wires knowledge, settings, database and routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.orm import sessionmaker

from app.api import (
    cds_hooks_routes,
    explain_routes,
    feedback_routes,
    fhir_routes,
    metrics_routes,
    offload,
)
from app.api.audit_submit import submit_rejection
from app.api.auth_gate import AuthGate, Unauthorized, load_auth_config
from app.api.db_errors import install_db_error_handler
from app.api.docs_ui import install_docs
from app.api.errors import install_error_handlers
from app.api.limits import BodyLimitMiddleware, JsonDepthMiddleware
from app.api.openapi import install_openapi
from app.api.rest import acr, analytics, assessments, audit, health, scores
from app.audit.setup import audit_key, make_recorder
from app.db.engine import make_engine
from app.db.migrate import upgrade
from app.fhir.concept_maps import install as install_code_maps
from app.fhir.concept_maps import versioned
from app.fhir.warmup import warm_up
from app.knowledge.loader import load_knowledge
from app.observability.cors import cors_middleware_kwargs
from app.observability.edge import EdgeMiddleware
from app.observability.logging import configure_logging
from app.observability.metrics import Metrics
from app.observability.tracing import install_tracing
from app.security.client_auth import JwksCache
from app.security.jti_repo import DbReplayStore, FallbackReplayStore
from app.settings import Settings, get_settings
from app.smart.routes import install as install_smart_app

log = logging.getLogger("vcf_cds")

DESCRIPTION = (
    "Clinical decision support for vertebral compression fractures: ACR Appropriateness "
    "Criteria variant matching, order appropriateness, MRI malignancy score, SINS, ESCC, VBQ "
    "and red flags. ACR Appropriateness Criteria content belongs to the American College of "
    "Radiology; production use requires a licence from the ACR."
)


_frozen = False
# A CDS Hooks call allocates thousands of containers (the parsed body, the FHIR reading) that
# reference counting frees when it ends; the service itself leaves almost no cyclic garbage
# (~250 objects in 14 s of full load). A young collection walks the containers of every
# request in flight. At CPython's default of 700 it ran about once per request; at 10,000, in
# a worker serving 32 connections, ~4 times a second for ~8 ms each (4.6 % of the time the GIL
# was held); at 100,000 about once in 30 s (~35 ms), which also bounds the uncollected
# garbage to that many containers (bench/README.md, "GC").
GEN0_THRESHOLD = 100_000
# at shutdown, how long to wait for decisions still running before the audit queue is drained
# (a decision takes milliseconds, one at the request caps about a second; the pod's 40 s grace
# covers uvicorn's 20 s for requests, this and the audit drain's 5 s)
DECISION_DRAIN_S = 5.0


def _freeze_start_up_heap() -> None:
    """Move everything loaded so far (modules, knowledge, the spaCy pipeline: hundreds of
    thousands of objects) out of the garbage collector's reach, once per process, and raise
    the young-generation threshold (``GEN0_THRESHOLD``). Without the freeze each full
    collection walks that heap: a large request body triggered 100+ ms pauses."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        gen0, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(max(GEN0_THRESHOLD, gen0), gen1, gen2)
        _frozen = True


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application. Knowledge is loaded and validated here, so a bad data file
    stops start-up with a clear message instead of failing on the first request."""
    settings = settings or get_settings()
    configure_logging(json=settings.environment != "development", level="INFO")
    knowledge = load_knowledge()
    code_maps = install_code_maps(settings.site_conceptmap_dir)  # a bad site map stops here
    knowledge = knowledge.model_copy(update={"version": versioned(knowledge.version, code_maps)})
    engine = make_engine(settings.database_url)
    session_factory = sessionmaker(engine, expire_on_commit=False)
    key = audit_key(settings)  # production without VCF_CDS_AUDIT_SECRET stops here
    audit_recorder = make_recorder(settings, session_factory)
    http_client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.fhir_fetch_budget_seconds),
        # idle connections are dropped before common server keep-alive timeouts (uvicorn and
        # Apache: 5 s): reusing one the server is closing fails as RemoteProtocolError
        limits=httpx.Limits(max_connections=20, keepalive_expiry=2.0),
        follow_redirects=False,
    )
    warm_up()  # first parse of each FHIR type is slow: pay it before the first request
    _freeze_start_up_heap()
    auth_gate = None
    if settings.auth_enabled:
        config = load_auth_config(settings.auth_config_file)
        auth_gate = AuthGate(
            config=config,
            replay=FallbackReplayStore(DbReplayStore(engine)),  # docs/faults.md
            jwks=JwksCache.from_config(config),
            public_base_url=settings.public_base_url,
        )
    elif settings.environment != "test":
        log.warning(
            "CLIENT AUTHENTICATION IS OFF (environment=%s): CDS Hooks calls are not verified; "
            "never run like this with real patient data",
            settings.environment,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("VCF-CDS starting (knowledge %s)", knowledge.version)
        if settings.migrate_on_start:
            log.info("applying database migrations (VCF_CDS_MIGRATE_ON_START)")
            await asyncio.to_thread(upgrade, settings.database_url)
        audit_recorder.start()
        yield
        # the requests have ended, but a call whose client went away may still be deciding:
        # its audit entry must reach the queue before the drain (docs/deploy.md)
        if not await asyncio.to_thread(offload.wait_idle, DECISION_DRAIN_S):
            log.warning("decisions still running after %.0f s; stopping anyway", DECISION_DRAIN_S)
        audit_recorder.stop()  # drains to the database, or the durable spool
        await http_client.aclose()
        engine.dispose()

    app = FastAPI(
        title="VCF-CDS",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # tracing is this app's own (install_tracing: its own provider and the FastAPI
        # instrumentation); FastAPI's native telemetry would report to whatever global
        # providers a process has, and checks them on every request (~3 calls each)
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served from packaged assets by install_docs, never from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.knowledge = knowledge
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.http_client = http_client
    app.state.auth_gate = auth_gate
    app.state.audit = audit_recorder
    app.state.audit_key = key

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> Response:
        submit_rejection(request, status=401, error=exc.reason)  # audited, no patient data
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})

    # the CDS Hooks routes first (the app's own routes, see install): routing tries the routes
    # in order, and the hook calls are the hot path. No path overlaps another router's, so the
    # order changes nothing else.
    cds_hooks_routes.install(app.router)
    app.include_router(feedback_routes.router)
    api = APIRouter(prefix="/api/v1")
    api.include_router(scores.router)
    api.include_router(acr.router)
    api.include_router(health.router)
    api.include_router(assessments.router)
    api.include_router(analytics.router)
    api.include_router(audit.router)
    app.include_router(api)
    app.include_router(fhir_routes.router)
    app.include_router(explain_routes.router)
    if settings.smart_app_enabled:
        install_smart_app(app)  # the SMART app at /app/ (docs/smart-app.md)
    metrics = Metrics(
        spool_depth=audit_recorder.spool_depth,
        queue_depth=audit_recorder.queue_depth,
        audit_dropped=audit_recorder.lost_count,
    )
    app.state.metrics = metrics
    app.include_router(metrics_routes.router)
    # add_middleware wraps: the last added runs first (request id outermost)
    app.add_middleware(JsonDepthMiddleware, max_depth=settings.max_json_depth)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, **cors_middleware_kwargs(settings.cors_origins))
    # one edge layer: request id, X-Knowledge-Version, access log and request metrics
    app.add_middleware(EdgeMiddleware, knowledge_version=knowledge.version, metrics=metrics)
    install_error_handlers(app)
    install_db_error_handler(app)
    install_openapi(app)
    install_docs(app)
    install_tracing(app, settings.tracing, engine=engine, http_client=http_client)
    return app


def __getattr__(name: str) -> FastAPI:
    """``app.main:app`` for uvicorn, built on first access (PEP 562) so that importing this
    module never needs production configuration; start-up errors surface when serving."""
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
