"""Request body of ``POST /cds-services/{id}/feedback`` (CDS Hooks 2.0 "Feedback").

Stricter subclasses of the wire models in :mod:`app.cds_hooks.models`, so that every
structural error is a pydantic error whose ``loc`` names the field (the app answers it with a
400 OperationOutcome). Text that is stored must fit its column and be storable in PostgreSQL
(no NUL, valid UTF-8).

An ``overridden`` outcome without ``overrideReason`` (or with neither a reason nor a non-blank
comment) is valid CDS Hooks 2.0 ("Overridden guidance": the user "dismissed it without
providing a reason why"); it is stored and counted as a plain dismissal.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from app.cds_hooks.models import (
    AcceptedSuggestion,
    Coding,
    Feedback,
    FeedbackRequest,
    OverrideReason,
)
from app.feedback.timestamps import Timestamp

MAX_ITEMS = 1000
MAX_COMMENT = 4000


def storable(text: str) -> bool:
    """True when ``text`` can be stored and queried in both databases (no NUL, valid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(text: str) -> str:
    if not storable(text):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return text


Text = Annotated[str, AfterValidator(_storable)]


class FeedbackCoding(Coding):
    """Spec "Coding" as stored: ``system`` and ``code`` non-empty and within column sizes."""

    code: Text = Field(min_length=1, max_length=128)
    system: Text = Field(min_length=1, max_length=256)
    display: Text | None = Field(default=None, max_length=512)


class FeedbackOverrideReason(OverrideReason):
    """Spec "OverrideReason": a reason Coding and/or a free-text comment."""

    reason: FeedbackCoding | None = None
    userComment: Text | None = Field(default=None, max_length=MAX_COMMENT)


class FeedbackItem(Feedback):
    """Spec "Feedback" with the conditional rules checked per field (so errors name it)."""

    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(
        default=None, validate_default=True
    )
    overrideReason: FeedbackOverrideReason | None = Field(default=None, validate_default=True)
    outcomeTimestamp: Timestamp

    @field_validator("acceptedSuggestions")
    @classmethod
    def _suggestions_iff_accepted(
        cls, value: list[AcceptedSuggestion] | None, info: ValidationInfo
    ) -> list[AcceptedSuggestion] | None:
        outcome = info.data.get("outcome")
        if outcome == "accepted" and not value:
            raise ValueError("is required (non-empty) when outcome is 'accepted'")
        if outcome == "overridden" and value is not None:
            raise ValueError("is only allowed when outcome is 'accepted'")
        return value

    @field_validator("overrideReason")
    @classmethod
    def _reason_iff_overridden(
        cls, value: FeedbackOverrideReason | None, info: ValidationInfo
    ) -> FeedbackOverrideReason | None:
        outcome = info.data.get("outcome")
        if outcome == "accepted" and value is not None:
            raise ValueError("is only allowed when outcome is 'overridden'")
        return value


class FeedbackBody(FeedbackRequest):
    """Spec "Feedback": ``{"feedback": [Feedback, ...]}``, at least one entry."""

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=MAX_ITEMS)  # type: ignore[assignment]
