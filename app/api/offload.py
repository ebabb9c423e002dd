"""CPU-bound request work off the event loop, with bounded concurrency (docs/faults.md).

The decision (FHIR reading, assessment, cards) is pure Python: on the event loop one large
request would stall every other client, health checks included. It runs in a worker thread
instead, at most ``DECISION_CONCURRENCY`` at a time per application (more wait for a slot
without holding a thread), so the loop keeps answering while it computes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from starlette.requests import Request

T = TypeVar("T")

DECISION_CONCURRENCY = 2  # pure Python under one GIL: more threads only slow the loop down


def _limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "decision_limiter", None)
    if limiter is None:  # created on first use, inside the event loop
        limiter = anyio.CapacityLimiter(DECISION_CONCURRENCY)
        state.decision_limiter = limiter
    return limiter


async def off_loop(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread under the application's decision limiter."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=_limiter(request))
