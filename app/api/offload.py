"""CPU-bound request work off the event loop, with bounded concurrency (docs/faults.md).

The decision (FHIR reading, assessment, cards) is pure Python: on the event loop one large
request would stall every other client, health checks included. It runs in a worker thread
instead, at most ``DECISION_CONCURRENCY`` at a time per process (more wait in the executor's
queue without holding a thread), so the loop keeps answering while it computes.

One ``ThreadPoolExecutor`` per process, reached with ``loop.run_in_executor``: anyio's
``to_thread.run_sync`` with a capacity limiter did the same through a cancel scope, a limiter
acquire and release and its own worker queue, ~60 us more per request on the loop (interleaved
in-process A/B, 60-resource order-select). The bound is per process, which is what the GIL
shares; a cancelled request (client gone) stops waiting while its call still finishes in the
thread, so an audit entry it submits is not lost. The call runs in a copy of the caller's
context variables, as ``anyio`` and ``asyncio.to_thread`` do.

Calls are counted from submission until they finish (or are cancelled before they start), so
the lifespan shutdown can wait for them (``wait_idle``) before it drains the audit queue: a
call whose client has gone still submits its audit entry, and after the drain that entry would
only reach the spool of a pod that is about to go.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

DECISION_CONCURRENCY = 2  # pure Python under one GIL: more threads only slow the loop down

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_idle = threading.Condition()
_pending = 0  # calls submitted and not yet finished (or cancelled), process-wide


def decision_executor() -> ThreadPoolExecutor:
    """The process's decision threads (created on first use, idle threads cost nothing)."""
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(DECISION_CONCURRENCY, thread_name_prefix="decision")
    return _executor


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in one of the process's ``DECISION_CONCURRENCY`` threads, in a
    copy of the caller's context (request id, trace context: the thread's logs and audit entry
    carry them). The bound is per process."""
    global _pending
    call = partial(contextvars.copy_context().run, fn, *args, **kwargs)
    with _idle:
        _pending += 1
    try:
        submitted = decision_executor().submit(call)
    except BaseException:
        _finished(None)
        raise
    submitted.add_done_callback(_finished)  # also when a cancelled call never starts
    return await asyncio.wrap_future(submitted)  # what ``run_in_executor`` does


def _finished(_: Future[Any] | None) -> None:
    global _pending
    with _idle:
        _pending -= 1
        if not _pending:
            _idle.notify_all()


def wait_idle(timeout: float) -> bool:
    """Wait (blocking, at most ``timeout`` seconds) until no call submitted through
    ``off_loop`` in this process is queued or running; False on timeout."""
    with _idle:
        return _idle.wait_for(lambda: not _pending, timeout)
