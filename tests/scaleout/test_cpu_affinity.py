"""``VCF_CDS_PIN_WORKERS``: each serving process claims a CPU no other process in its network
namespace holds, pins every thread to it, and gives it back when it dies (app/cpu_affinity.py).
Real processes and real affinity masks; the claims use a prefix of this test run's own, so a
service running on the machine is not disturbed."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import pytest

from app import cpu_affinity
from app.serve import WorkerConfig, options
from tests.scaleout.cluster import ROOT

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity"), reason="CPU affinity needs Linux"
)

# a child that claims a CPU under PREFIX, reports it, and holds it until its stdin closes
CLAIMER = """
import sys
from app.cpu_affinity import pin_to_free_cpu
cpu = pin_to_free_cpu(sys.argv[1])
print(cpu, flush=True)
sys.stdin.read()
"""


@pytest.fixture
def prefix() -> str:
    return f"vcf-cds-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def restore_affinity() -> Iterator[None]:
    before = os.sched_getaffinity(0)
    yield
    cpu_affinity.release()
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task), before)


def claimer(prefix: str) -> tuple[subprocess.Popen[str], int | None]:
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, prefix],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    return child, None if line == "None" else int(line)


def end(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.close()
    child.wait(30)


def test_processes_take_different_cpus_and_a_dead_ones_cpu_is_free_again(prefix: str) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    children = [claimer(prefix) for _ in allowed]
    try:
        cpus = [cpu for _, cpu in children]
        assert sorted(c for c in cpus if c is not None) == allowed  # one each, all different
        extra, none = claimer(prefix)
        assert none is None  # every CPU taken: that process stays unpinned
        end(extra)
        first, first_cpu = children[0]
        end(first)  # its claim dies with it
        again, cpu = claimer(prefix)
        assert cpu == first_cpu
        end(again)
    finally:
        for child, _ in children:
            if child.poll() is None:
                end(child)


def test_every_thread_runs_on_the_claimed_cpu(prefix: str, restore_affinity: None) -> None:
    started, stop = threading.Event(), threading.Event()
    seen: list[set[int]] = []

    def early() -> None:  # a thread that exists before the pin
        started.set()
        stop.wait(30)
        seen.append(os.sched_getaffinity(0))

    thread = threading.Thread(target=early)
    thread.start()
    assert started.wait(30)
    cpu = cpu_affinity.pin_to_free_cpu(prefix)
    assert cpu is not None
    assert cpu_affinity.pin_to_free_cpu(prefix) == cpu  # claimed once per process
    stop.set()
    thread.join(30)
    later: list[set[int]] = []
    late = threading.Thread(target=lambda: later.append(os.sched_getaffinity(0)))
    late.start()
    late.join(30)
    assert os.sched_getaffinity(0) == seen[0] == later[0] == {cpu}


def test_off_by_default_and_read_from_the_environment() -> None:
    assert options([], {}).pin_workers is False
    assert options([], {"VCF_CDS_PIN_WORKERS": "true"}).pin_workers is True
    with pytest.raises(ValueError, match="VCF_CDS_PIN_WORKERS"):
        options([], {"VCF_CDS_PIN_WORKERS": "sometimes"})


@pytest.mark.parametrize("pin", [True, False])
def test_a_worker_pins_itself_when_uvicorn_loads_the_app(
    monkeypatch: pytest.MonkeyPatch, prefix: str, restore_affinity: None, pin: bool
) -> None:
    """uvicorn calls ``Config.load`` in each serving process, never in the supervisor."""
    claimed: list[int | None] = []

    def claim() -> int | None:
        claimed.append(cpu_affinity.pin_to_free_cpu(prefix))
        return claimed[-1]

    monkeypatch.setattr("app.serve.pin_to_free_cpu", claim)
    before = os.sched_getaffinity(0)
    app = "tests.scaleout.test_cpu_affinity:asgi"
    WorkerConfig(app, switch_interval_ms=5.0, pin_cpu=pin, log_config=None).load()
    if pin:
        assert claimed and claimed[0] is not None
        assert os.sched_getaffinity(0) == {claimed[0]}
    else:
        assert claimed == [] and os.sched_getaffinity(0) == before


async def asgi(scope: object, receive: object, send: object) -> None:  # loaded by the test above
    raise NotImplementedError
