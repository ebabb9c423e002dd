"""Pydantic models of the CDS Hooks 2.0.1 wire format (https://cds-hooks.hl7.org/2.0/).

Field names are the spec's JSON names (camelCase, except the OAuth names inside
``fhirAuthorization``). Every model accepts unknown fields (spec "Extensions"), so a client
sending newer or extended payloads is not rejected. Response bodies must go through
:func:`dump_response`, which omits unset optional fields instead of emitting ``null``/empty
values (spec "Use of JSON": optional attributes without a value SHALL be omitted).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic_core import to_jsonable_python

from app.json_types import JsonObject
from app.knowledge.coding import Coding as Coding  # re-exported: a wire model

Indicator = Literal["info", "warning", "critical"]
SelectionBehavior = Literal["at-most-one", "any"]
ActionType = Literal["create", "update", "delete"]
LinkType = Literal["absolute", "smart"]
FeedbackOutcome = Literal["accepted", "overridden"]

# Required-by-spec fields that may legitimately be empty and must still be emitted.
_EMIT_WHEN_EMPTY = frozenset({"cards"})


class CdsModel(BaseModel):
    """Base: tolerate extra fields (spec "Extensions"), keep the spec's JSON names."""

    model_config = ConfigDict(extra="allow")


# --- Data types ----------------------------------------------------------------------------

# ``Coding`` (spec "Data Types / Coding") is app/knowledge/coding.py, shared with the FHIR code
# tables; it is re-exported above with the other wire models.

# --- Discovery -----------------------------------------------------------------------------


class Service(CdsModel):
    """Spec "Discovery / Response": one CDS Service entry."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class DiscoveryResponse(CdsModel):
    """Spec "Discovery / Response": ``{"services": [...]}`` (may be empty)."""

    services: list[Service]


# --- Request -------------------------------------------------------------------------------


class FhirAuthorization(CdsModel):
    """Spec "Passing the Access Token to the CDS Service" (OAuth 2.0 snake_case names)."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class HookRequest(CdsModel):
    """Spec "Calling a CDS Service / HTTP Request".

    ``prefetch`` values may be ``null`` (the client has no data for the key), an
    OperationOutcome (the client's prefetch failed), a Bundle or any single resource; a key is
    absent when the client chose not to (or could not) satisfy it.
    """

    hook: str
    hookInstance: str
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: JsonObject
    prefetch: JsonObject | None = None

    @field_validator("fhirAuthorization")
    @classmethod
    def _server_required_with_authorization(
        cls, value: FhirAuthorization | None, info: ValidationInfo
    ) -> FhirAuthorization | None:
        """``fhirServer`` is CONDITIONAL: REQUIRED when ``fhirAuthorization`` is provided."""
        if value is not None and not info.data.get("fhirServer"):
            raise ValueError("fhirServer is required when fhirAuthorization is provided")
        return value


# --- Response ------------------------------------------------------------------------------


class Source(CdsModel):
    """Spec "Card Attributes / Source"."""

    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(CdsModel):
    """Spec "Card Attributes / Action" (also the schema of ``systemActions``).

    ``resource`` carries the FHIR resource for ``create``/``update``; ``resourceId`` is the
    relative reference (``"Type/id"``, a single string in 2.0.1) for ``delete``.
    """

    type: ActionType
    description: str
    resource: JsonObject | None = None
    resourceId: str | None = None


class Suggestion(CdsModel):
    """Spec "Card Attributes / Suggestion"."""

    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(CdsModel):
    """Spec "Card Attributes / Link": ``appContext`` only valid on ``smart`` links."""

    label: str
    url: str
    type: LinkType
    appContext: str | None = None
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context_only_on_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only valid on links of type 'smart'")
        return self


class Card(CdsModel):
    """Spec "Card Attributes". ``selectionBehavior`` is required iff suggestions exist."""

    uuid: str | None = None
    summary: str
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: SelectionBehavior | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _selection_behavior_with_suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        return self


class CdsResponse(CdsModel):
    """Spec "CDS Service Response / HTTP Response": ``cards`` (required, may be empty) and
    optional ``systemActions``."""

    cards: list[Card]
    systemActions: list[Action] | None = None


# --- Feedback ------------------------------------------------------------------------------


class AcceptedSuggestion(CdsModel):
    """Spec "Feedback / Suggestion accepted": ``id`` is the accepted ``suggestion.uuid``."""

    id: str


class OverrideReason(CdsModel):
    """Spec "Feedback / OverrideReason": the reason the user chose and/or a free-text comment."""

    reason: Coding | None = None
    userComment: str | None = None


class Feedback(CdsModel):
    """Spec "Feedback": one user interaction with a card."""

    card: str
    outcome: FeedbackOutcome
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> Feedback:
        """``acceptedSuggestions`` is CONDITIONAL: required for ``accepted`` outcomes."""
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is 'accepted'")
        return self


class FeedbackRequest(CdsModel):
    """Spec "Feedback": body POSTed to ``{baseUrl}/cds-services/{id}/feedback``."""

    feedback: list[Feedback]


# --- Serialisation -------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


# per model class: (attribute, JSON key, emitted even when empty), in field order
_FIELD_PLANS: dict[type[BaseModel], tuple[tuple[str, str, bool], ...]] = {}
_AS_IS = frozenset({str, int, bool, type(None)})  # what ``to_jsonable_python`` returns unchanged


def _plan(cls: type[BaseModel]) -> tuple[tuple[str, str, bool], ...]:
    plan = _FIELD_PLANS.get(cls)
    if plan is None:
        plan = _FIELD_PLANS[cls] = tuple(
            (
                name,
                field.alias or name,
                field.is_required() or (field.alias or name) in _EMIT_WHEN_EMPTY,
            )
            for name, field in cls.model_fields.items()
        )
    return plan


def _dump(value: Any) -> Any:
    cls = value.__class__
    if cls in _AS_IS:
        return value
    if cls is dict:
        return {str(k): v if v.__class__ in _AS_IS else _dump(v) for k, v in value.items()}
    if cls is list or cls is tuple:
        return [item if item.__class__ in _AS_IS else _dump(item) for item in value]
    if isinstance(value, BaseModel):
        return _dump_model(value)
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _dump(v) for k, v in value.items()}
    return to_jsonable_python(value)


def _dump_model(value: BaseModel) -> JsonObject:
    """A model's fields in field order, then its extras; a plain string, ``None``, bool or int
    field is handled here without a call (what ``_dump`` and ``_is_empty`` give for it)."""
    out: JsonObject = {}
    fields = value.__dict__
    for name, key, always in _FIELD_PLANS.get(value.__class__) or _plan(value.__class__):
        field = fields[name]
        cls = field.__class__
        if cls is str:
            if always or field:
                out[key] = field
        elif field is None:
            if always:
                out[key] = None
        elif cls is bool or cls is int:
            out[key] = field
        else:
            dumped = _dump(field)
            if always or not _is_empty(dumped):
                out[key] = dumped
    extra = value.__pydantic_extra__
    if extra:
        for key, item in extra.items():
            dumped = _dump(item)
            if not _is_empty(dumped):
                out[key] = dumped
    return out


def dump_response(model: BaseModel) -> JsonObject:
    """JSON-ready dict of a CDS Hooks model that omits ``None`` and empty optional
    strings/lists/objects (spec "Use of JSON"); required fields are always emitted, so a
    required-but-empty value still reaches :func:`app.cds_hooks.card_rules.validate_cds_response`.
    Free-form payloads (``resource``, ``context``) are copied as given.
    """
    dumped = _dump(model)
    if not isinstance(dumped, dict):  # pragma: no cover - a BaseModel always dumps to a dict
        raise TypeError("expected a model")
    return dumped
