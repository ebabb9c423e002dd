"""Shutdown waits for decisions still running (``app.api.offload.wait_idle``) before it drains
the audit queue: a call whose client went away still submits its audit entry, and after the
drain that entry would only reach the spool of a pod about to be deleted. Every wait here is
on an event or a condition, never a sleep."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from app.api import offload
from app.main import create_app
from app.settings import Settings

BOUND_S = 10.0  # only reached when the code under test is broken


def blocking(started: threading.Event, release: threading.Event) -> Callable[[], str]:
    def call() -> str:
        started.set()
        if not release.wait(BOUND_S):
            raise TimeoutError("never released")
        return "decided"

    return call


async def _wait(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, BOUND_S)


def test_wait_idle_waits_for_a_running_call() -> None:
    async def scenario() -> None:
        started, release = threading.Event(), threading.Event()
        task = asyncio.create_task(offload.off_loop(blocking(started, release)))
        await _wait(started)
        assert not offload.wait_idle(0.01)  # running: not idle
        release.set()
        assert await task == "decided"
        assert offload.wait_idle(BOUND_S)

    asyncio.run(scenario())


def test_a_cancelled_caller_leaves_its_running_call_counted() -> None:
    async def scenario() -> None:
        started, release = threading.Event(), threading.Event()
        task = asyncio.create_task(offload.off_loop(blocking(started, release)))
        await _wait(started)
        task.cancel()  # the client went away; the thread keeps deciding
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not offload.wait_idle(0.01)
        release.set()
        assert offload.wait_idle(BOUND_S)

    asyncio.run(scenario())


def test_a_call_cancelled_before_it_starts_is_not_waited_for() -> None:
    async def scenario() -> None:
        release = threading.Event()
        starts = [threading.Event() for _ in range(offload.DECISION_CONCURRENCY)]
        busy = [asyncio.create_task(offload.off_loop(blocking(s, release))) for s in starts]
        for started in starts:
            await _wait(started)  # every decision thread is taken
        never = threading.Event()
        queued = asyncio.create_task(offload.off_loop(blocking(never, release)))
        await asyncio.sleep(0)  # let it submit (no timing: one pass of the loop)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        assert await asyncio.gather(*busy) == ["decided"] * len(busy)
        assert offload.wait_idle(BOUND_S)  # the cancelled call was uncounted, never ran
        assert not never.is_set()

    asyncio.run(scenario())


def test_shutdown_drains_the_audit_queue_only_after_running_decisions(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(settings)
    order: list[str] = []
    waiting = threading.Event()
    real_wait_idle = offload.wait_idle

    def spy_wait_idle(timeout: float) -> bool:
        waiting.set()
        return real_wait_idle(timeout)

    monkeypatch.setattr(offload, "wait_idle", spy_wait_idle)
    real_stop = app.state.audit.stop

    def spy_stop(timeout: float | None = None) -> None:
        order.append("audit drained")
        real_stop(timeout)

    monkeypatch.setattr(app.state.audit, "stop", spy_stop)

    async def scenario() -> None:
        started, release = threading.Event(), threading.Event()

        def decide() -> None:
            blocking(started, release)()
            order.append("decision finished")

        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        task = asyncio.create_task(offload.off_loop(decide))
        await _wait(started)
        task.cancel()  # its client is gone; uvicorn ends the request and shuts down
        exiting = asyncio.create_task(lifespan.__aexit__(None, None, None))
        await _wait(waiting)
        assert order == []  # the drain has not started while the decision runs
        release.set()
        await exiting
        assert order[:2] == ["decision finished", "audit drained"]

    asyncio.run(scenario())
