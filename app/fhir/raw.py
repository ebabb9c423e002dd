"""Tolerant access to raw FHIR JSON (hot path: no model validation, fhir-input.md).

Every helper returns ``None`` or an empty list for a missing field or a value of the wrong
type, so one odd resource never raises. Strings are capped before any parsing so a huge
string costs nothing.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TypeGuard

from app.json_types import JsonObject

MAX_TOKEN = 128  # longest code, id, unit or level label we look at
MAX_DATETIME = 40

_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def obj(value: object, key: str) -> JsonObject | None:
    """``value[key]`` when ``value`` is a dict and the field is a JSON object."""
    if isinstance(value, dict):
        field = value.get(key)
        if isinstance(field, dict):
            return field
    return None


def objs(value: object, key: str) -> list[JsonObject]:
    """The JSON objects in the list ``value[key]`` (non-objects dropped)."""
    if isinstance(value, dict):
        field = value.get(key)
        if isinstance(field, list):
            return [item for item in field if isinstance(item, dict)]
    return []


def text(value: object, key: str, limit: int = MAX_TOKEN) -> str | None:
    """``value[key]`` when it is a non-empty string of at most ``limit`` characters (stripped).

    The hottest helper (about 17 calls per resource): exact-type checks first, one strip."""
    if value.__class__ is not dict and not isinstance(value, dict):
        return None
    field = value.get(key)
    if field.__class__ is not str and not isinstance(field, str):
        return None
    if not field or len(field) > limit:
        return None
    stripped: str = field.strip()
    return stripped or None


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (``bool`` is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def codings(concept: object) -> list[tuple[str | None, str, str | None]]:
    """``(system, code, display)`` of each usable coding of a CodeableConcept.

    ``objs`` and ``text`` of each field, inlined for the usual plain string or absent field."""
    out: list[tuple[str | None, str, str | None]] = []
    if concept.__class__ is not dict and not isinstance(concept, dict):
        return out
    items = concept.get("coding")
    if items.__class__ is not list and not isinstance(items, list):
        return out
    for coding in items:
        if coding.__class__ is not dict and not isinstance(coding, dict):
            continue
        code = coding.get("code")
        if code.__class__ is str and 0 < len(code) <= MAX_TOKEN:
            code = code.strip() or None
        else:
            code = text(coding, "code")
        if code is None:
            continue
        system = coding.get("system")
        if system is not None:
            if system.__class__ is str and 0 < len(system) <= 512:
                system = system.strip() or None
            else:
                system = text(coding, "system", 512)
        display = coding.get("display")
        if display is not None:
            if display.__class__ is str and 0 < len(display) <= 512:
                display = display.strip() or None
            else:
                display = text(coding, "display", 512)
        out.append((system, code, display))
    return out


def parse_datetime(value: object) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware datetime (partial dates: first instant, UTC
    when no zone is given). ``None`` for anything else.

    Memo: the last ``DATETIME_MEMO`` distinct strings (a record repeats a few timestamps);
    a datetime is immutable."""
    if not isinstance(value, str) or len(value) > MAX_DATETIME:
        return None
    return _parse_datetime(str(value))


DATETIME_MEMO = 1024


@lru_cache(maxsize=DATETIME_MEMO)
def _parse_datetime(value: str) -> datetime | None:
    m = _DATETIME.match(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, zone = m.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        moment -= sign * offset
    return moment


def parse_date(value: object) -> date | None:
    """A full FHIR ``date`` (YYYY-MM-DD); partial dates give ``None``."""
    if isinstance(value, str) and len(value) == 10:
        moment = parse_datetime(value)
        return moment.date() if moment else None
    return None


def resource_label(resource: JsonObject, index: int) -> str:
    """``Type/id`` for messages and sources; ``Type[index]`` when the id is unusable."""
    rtype = text(resource, "resourceType", 64) or "Resource"
    rid = text(resource, "id", 64)
    return f"{rtype}/{rid}" if rid else f"{rtype}[{index}]"


def reference_id(reference: object, rtype: str) -> str | None:
    """The id in a ``Reference`` to ``rtype`` (``Patient/1``, ``https://x/Patient/1``)."""
    ref = text(reference, "reference", 512)
    if ref is None:
        return None
    parts = ref.split("/")
    for i in range(len(parts) - 1):
        if parts[i] == rtype and parts[i + 1]:
            return parts[i + 1][:MAX_TOKEN]
    return None
