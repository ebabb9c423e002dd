"""The bare baseline: FastAPI with one POST endpoint that parses the JSON body and answers
``{"cards": []}``. Same framework, same transport, no CDS work: the floor for the real service.

Served by uvicorn as ``bench.baseline:app``; ``create_app()`` builds a fresh instance.
``create_app(header_middleware=True)`` adds an ``@app.middleware("http")`` that sets one
response header, like the real app does, to price that middleware alone.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

PATH = "/cds-services/vcf-order-select"


def create_app(header_middleware: bool = False) -> FastAPI:
    bare = FastAPI(title="VCF-CDS bench baseline", openapi_url=None, docs_url=None)

    if header_middleware:

        @bare.middleware("http")
        async def add_header(request: Request, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers["X-Bench"] = "1"
            return response

    @bare.post(PATH)
    async def invoke(request: Request) -> dict[str, Any]:
        body = await request.json()
        if not isinstance(body, dict):  # keep the parsed body alive and checked, like the app
            return {"cards": [], "error": "not an object"}
        return {"cards": []}

    return bare


app = create_app()
