"""CORS settings for Starlette's ``CORSMiddleware``: the configured origins only."""

from __future__ import annotations

from typing import TypedDict

EXPOSED_HEADERS = ["X-Request-ID", "X-Knowledge-Version"]


class CorsOptions(TypedDict):
    """The ``CORSMiddleware`` keyword arguments this service sets."""

    allow_origins: list[str]
    allow_methods: list[str]
    allow_headers: list[str]
    allow_credentials: bool
    expose_headers: list[str]
    max_age: int


def cors_middleware_kwargs(origins: list[str]) -> CorsOptions:
    """Keyword arguments for ``app.add_middleware(CORSMiddleware, **...)``.

    Exact origins only (``scheme://host[:port]``, a trailing ``/`` is dropped); ``*`` is
    refused. No credentials mode: browsers send the bearer token as an explicit
    ``Authorization`` header, which needs no cookies.
    """
    allowed: list[str] = []
    for origin in origins:
        cleaned = origin.strip().rstrip("/")
        if "*" in cleaned or not cleaned.startswith(("https://", "http://")):
            raise ValueError(f"CORS origin must be an exact http(s) origin, got {origin!r}")
        allowed.append(cleaned)
    return {
        "allow_origins": allowed,
        "allow_methods": ["GET", "POST", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", "X-Request-ID"],
        "allow_credentials": False,
        "expose_headers": list(EXPOSED_HEADERS),
        "max_age": 600,
    }
