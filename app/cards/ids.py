"""Random ids for cards, suggestions and consults."""

from __future__ import annotations

import os


def new_uuid() -> str:
    """``str(uuid.uuid4())`` without the UUID object: 16 random bytes from ``os.urandom``
    with the version (4) and RFC 4122 variant bits set, in the canonical 8-4-4-4-12 form."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
