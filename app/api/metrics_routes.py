"""``GET /metrics``: Prometheus text exposition (kept out of the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from app.observability.metrics import app_metrics

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The application's metrics in the Prometheus text format."""
    m = app_metrics(request.app)
    if m is None:
        raise HTTPException(404, detail="metrics are not enabled")
    body, content_type = m.render()
    return Response(body, media_type=content_type)
