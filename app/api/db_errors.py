"""A database error on a request is a 503 that says why, never a bare 500: "schema not
migrated, run `alembic upgrade head`" or "database unavailable" (OperationOutcome on FHIR and
CDS Hooks paths, ``{"detail": [...]}`` on REST paths)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.api.errors import error_response
from app.db.schema_state import schema_state

log = logging.getLogger("vcf_cds.errors")


def install_db_error_handler(app: FastAPI) -> None:
    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        state = await asyncio.to_thread(schema_state, request.app.state.engine)
        if state.reachable and state.ok:
            log.error("database error on %s: %s", request.url.path, type(exc).__name__)
            message = "the database failed to answer this request; try again"
        else:
            message = state.message()
            log.error("database not usable on %s: %s", request.url.path, message)
        response = error_response(
            request,
            503,
            [{"loc": ["database"], "msg": message, "code": "transient", "type": "unavailable"}],
        )
        response.headers["Retry-After"] = "30"
        return response
