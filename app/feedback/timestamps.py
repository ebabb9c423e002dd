"""ISO 8601 / RFC 3339 date-times (CDS Hooks 2.0 "Feedback" ``outcomeTimestamp``), held in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _date_time_text(value: Any) -> Any:
    """Date-time text only (pydantic alone would also take numbers and bare dates)."""
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2020-12-11T00:00:00Z")
    return value


def _as_utc(value: datetime) -> datetime:
    """A date-time without offset is read as UTC (the spec's time zone)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


Timestamp = Annotated[datetime, BeforeValidator(_date_time_text), AfterValidator(_as_utc)]
