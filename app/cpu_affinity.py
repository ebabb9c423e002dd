"""Pin a serving process to one CPU of its own (opt-in: ``VCF_CDS_PIN_WORKERS``, app/serve.py).

Why: a worker is one GIL. Its event loop, decision threads and audit writer take turns holding
it, about 15 hand-overs per request. With the threads spread over several CPUs, a hand-over
wakes a thread on another CPU (on a virtual machine, an inter-processor interrupt and a VM exit).
The audit writer takes the GIL back after every SQLite call, so its commit outlived the
crash window and the guard spooled most entries (written twice). On one CPU those hand-overs
are cheap. Measured on the 2-vCPU benchmark VM, one worker, 32 connections, 3 alternating
pairs (bench/README.md, "Workers"): CPU per request -5 to -7 %, req/s +2 to +4 %, p99
860-917 -> 305-326 ms, audit entries spooled 79-87 % -> 0.1-0.2 %.

Use it only where the process's CPUs are its own: a pod with exclusive CPUs (the kubelet's
static CPU manager policy, Guaranteed QoS, whole CPUs requested) or a machine that runs nothing
else busy. On CPUs shared under a quota, every pod would pick the same first CPUs of the node.

Coordination (Linux): a process claims a CPU of its allowed set by binding an abstract Unix
socket named after it. The name is released when the process dies, so a restarted worker takes
the CPU its predecessor held. Processes in one network namespace (the workers of a pod, or of
one machine) therefore take different CPUs; a process that finds every CPU taken stays
unpinned. The threads the process already has are pinned too; later ones inherit the CPU.
"""

from __future__ import annotations

import contextlib
import os
import socket

CLAIM_PREFIX = "vcf-cds-cpu"

_claim: socket.socket | None = None
_pinned: int | None = None


def pin_to_free_cpu(prefix: str = CLAIM_PREFIX) -> int | None:
    """Claim the first CPU of this process's allowed set that no other process in the network
    namespace has claimed (under ``prefix``) and pin every thread of the process to it.
    Returns the CPU, or None when every CPU is taken or the platform cannot pin."""
    global _claim, _pinned
    if _claim is not None:
        return _pinned
    if not hasattr(os, "sched_setaffinity") or not hasattr(socket, "AF_UNIX"):
        return None
    for cpu in sorted(os.sched_getaffinity(0)):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(f"\0{prefix}-{cpu}")
        except OSError:  # another process holds it
            sock.close()
            continue
        _claim, _pinned = sock, cpu
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):  # a thread that has just ended
                os.sched_setaffinity(int(task), {cpu})
        return cpu
    return None


def release() -> None:
    """Give the claimed CPU back (the process keeps its affinity; tests)."""
    global _claim, _pinned
    if _claim is not None:
        _claim.close()
    _claim = _pinned = None
