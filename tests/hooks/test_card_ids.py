"""``new_uuid`` gives what ``str(uuid.uuid4())`` gives: canonical random version-4 UUIDs."""

from __future__ import annotations

import uuid

from app.cards.ids import new_uuid


def test_new_uuid_is_a_canonical_random_uuid4() -> None:
    seen = {new_uuid() for _ in range(2000)}
    assert len(seen) == 2000
    for text in seen:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # lower-case 8-4-4-4-12
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
