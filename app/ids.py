"""Random ids (version-4 UUIDs) for cards, suggestions, consults and requests.

The random bytes come from the operating system (``os.urandom``), taken 4096 at a time (256
ids) into a pool per thread. ``os.urandom`` gives the GIL up around its ``getrandom`` call, and
with another thread running (a decision, the event loop) the caller then waits up to a switch
interval (5 ms) to take it back: 200 calls beside one busy thread took 792 ms, against 0.1 ms
for the same bytes already in memory. A request made five such calls. Each thread has its own
pool (no lock); a forked child starts with empty pools, so parent and child never hand out the
same bytes.
"""

from __future__ import annotations

import os
import threading

POOL_BYTES = 4096


class _Pool(threading.local):
    def __init__(self) -> None:
        self.buf = b""
        self.at = 0


_pool = _Pool()


def _forget_pools() -> None:
    global _pool
    _pool = _Pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


def random16() -> bytes:
    """16 random bytes from this thread's pool (refilled from ``os.urandom``)."""
    pool = _pool
    at = pool.at
    if at + 16 > len(pool.buf):
        pool.buf, at = os.urandom(POOL_BYTES), 0
    pool.at = at + 16
    return pool.buf[at : at + 16]


def new_uuid() -> str:
    """``str(uuid.uuid4())`` without the UUID object: 16 random bytes with the version (4) and
    RFC 4122 variant bits set, in the canonical 8-4-4-4-12 form."""
    b = bytearray(random16())
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
