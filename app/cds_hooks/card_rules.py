"""Conformance checks for a serialised CDS Hooks 2.0.1 response body.

Implements the rules of CDS Hooks 2.0.1 "Use of JSON", "CDS Service Response", "Card
Attributes" (Source, Suggestion, Action, Reasons for rejecting a card, Link), "System Action"
and "Data Types / Coding", plus the stricter checks this project (shared/spec/api.md) and the
Inferno Da Vinci CRD test kit apply: every card and suggestion has a unique UUID, summary
shorter than 140 characters, override reasons with ``system``/``code``/``display``,
``selectionBehavior`` present when suggestions are, and ``appContext`` only on smart links.
See docs/cds-hooks-notes.md for the sources.
"""

from __future__ import annotations

import re
import uuid
from typing import Literal
from urllib.parse import urlsplit

MAX_SUMMARY_CHARS = 139  # spec: "<140-character summary"
INDICATORS = frozenset({"info", "warning", "critical"})
SELECTION_BEHAVIORS = frozenset({"at-most-one", "any"})
ACTION_TYPES = frozenset({"create", "update", "delete"})
LINK_TYPES = frozenset({"absolute", "smart"})

# FHIR relative reference "Type/id" (FHIR id: 1-64 of [A-Za-z0-9-.]).
_RELATIVE_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
# An HTML start/end tag or comment. GFM autolinks (<https://...>, <a@b.org>) do not match
# because the tag name must be followed by whitespace, "/" or ">".
_HTML_TAG = re.compile(r"<!--|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)

ResourceIdShape = Literal["string", "list"]


def validate_cds_response(
    payload: object, *, delete_resource_id: ResourceIdShape = "string"
) -> list[str]:
    """Check a serialised CDS Hooks response body; return violations as ``"<JSON path>:
    <message>"`` strings (an empty list means valid).

    ``delete_resource_id`` selects the shape of ``resourceId`` on ``delete`` actions:
    ``"string"`` (CDS Hooks 2.0.1 Action table: one relative reference) or ``"list"`` (an array
    of relative references, as the Inferno Da Vinci CRD test kit expects).
    """
    checker = _Checker(delete_resource_id)
    checker.response(payload)
    return checker.errors


class _Checker:
    def __init__(self, delete_resource_id: ResourceIdShape) -> None:
        self.errors: list[str] = []
        self.delete_resource_id = delete_resource_id
        self.uuids: dict[str, str] = {}

    def err(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    # --- generic helpers -------------------------------------------------------------------

    def no_null_or_empty(self, value: object, path: str, *, in_resource: bool = False) -> None:
        """Spec "Use of JSON": no ``null``, ``""``, ``[]`` or ``{}`` anywhere. Inside a FHIR
        resource a ``null`` array item is allowed (FHIR primitive/extension array alignment)."""
        if value is None:
            self.err(path, "null is not allowed; omit the attribute instead")
        elif isinstance(value, str):
            if not value.strip():
                self.err(path, "empty string is not allowed; omit the attribute instead")
        elif isinstance(value, list):
            if not value:
                self.err(path, "empty array is not allowed; omit the attribute instead")
            for i, item in enumerate(value):
                if item is None and in_resource:
                    continue
                self.no_null_or_empty(item, f"{path}[{i}]", in_resource=in_resource)
        elif isinstance(value, dict):
            if not value:
                self.err(path, "empty object is not allowed; omit the attribute instead")
            for key, item in value.items():
                nested = in_resource or key == "resource"
                self.no_null_or_empty(item, f"{path}.{key}", in_resource=nested)

    def string(self, obj: dict[str, object], key: str, path: str, *, required: bool) -> str | None:
        """The value of ``obj[key]`` if it is a non-empty string. Missing required keys and
        non-string values are reported here; null/empty values by :meth:`no_null_or_empty`."""
        if key not in obj:
            if required:
                self.err(f"{path}.{key}", "is required")
            return None
        value = obj[key]
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.err(f"{path}.{key}", f"must be a string, got {type(value).__name__}")
            return None
        return value if value.strip() else None

    def obj(self, value: object, path: str) -> dict[str, object] | None:
        if isinstance(value, dict):
            return value
        if value is not None:
            self.err(path, f"must be an object, got {type(value).__name__}")
        return None

    def array(self, obj: dict[str, object], key: str, path: str) -> list[object]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.err(f"{path}.{key}", f"must be an array, got {type(value).__name__}")
            return []
        return value

    def http_url(self, obj: dict[str, object], key: str, path: str, *, required: bool) -> None:
        value = self.string(obj, key, path, required=required)
        if value is None:
            return
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.err(f"{path}.{key}", f"must be an absolute http(s) URL, got {value!r}")

    def unique_uuid(self, obj: dict[str, object], path: str) -> None:
        value = self.string(obj, "uuid", path, required=True)
        if value is None:
            return
        try:
            uuid.UUID(value)
        except ValueError:
            self.err(f"{path}.uuid", f"must be a UUID, got {value!r}")
            return
        key = value.lower()
        if key in self.uuids:
            self.err(f"{path}.uuid", f"duplicates the uuid of {self.uuids[key]}")
        else:
            self.uuids[key] = path

    def coding(self, value: object, path: str, *, display_required: bool) -> None:
        """Spec "Data Types / Coding": ``code`` and ``system`` required; ``display`` required
        for override reasons."""
        coding = self.obj(value, path)
        if coding is None:
            return
        self.string(coding, "code", path, required=True)
        self.string(coding, "system", path, required=True)
        self.string(coding, "display", path, required=display_required)

    # --- response structure ----------------------------------------------------------------

    def response(self, payload: object) -> None:
        body = self.obj(payload, "$")
        if body is None:
            return
        if "cards" not in body:
            self.err("$.cards", "is required")
        elif not isinstance(body["cards"], list):
            self.err("$.cards", "must be an array")
        else:
            for i, card in enumerate(body["cards"]):
                path = f"$.cards[{i}]"
                self.no_null_or_empty(card, path)
                self.card(card, path)
        if "systemActions" in body:
            actions = body["systemActions"]
            if not isinstance(actions, list):
                self.err("$.systemActions", "must be an array")
                return
            for i, action in enumerate(actions):
                path = f"$.systemActions[{i}]"
                self.no_null_or_empty(action, path)
                self.action(action, path)

    def card(self, value: object, path: str) -> None:
        card = self.obj(value, path)
        if card is None:
            return
        self.unique_uuid(card, path)
        summary = self.string(card, "summary", path, required=True)
        if summary is not None and len(summary) > MAX_SUMMARY_CHARS:
            self.err(
                f"{path}.summary",
                f"must be shorter than 140 characters, got {len(summary)}",
            )
        indicator = self.string(card, "indicator", path, required=True)
        if indicator is not None and indicator not in INDICATORS:
            self.err(f"{path}.indicator", f"must be one of {sorted(INDICATORS)}, got {indicator!r}")
        self.detail(card, path)
        if "source" in card:
            self.source(card["source"], f"{path}.source")
        else:
            self.err(f"{path}.source", "is required")
        self.suggestions(card, path)
        for i, reason in enumerate(self.array(card, "overrideReasons", path)):
            self.coding(reason, f"{path}.overrideReasons[{i}]", display_required=True)
        for i, link in enumerate(self.array(card, "links", path)):
            self.link(link, f"{path}.links[{i}]")

    def detail(self, card: dict[str, object], path: str) -> None:
        """``detail`` is GitHub Flavored Markdown; raw HTML is not accepted here."""
        detail = self.string(card, "detail", path, required=False)
        if detail is None:
            return
        prose = _INLINE_CODE.sub("", _FENCED_CODE.sub("", detail))
        match = _HTML_TAG.search(prose)
        if match:
            self.err(f"{path}.detail", f"must be Markdown without raw HTML, found {match[0]!r}")

    def source(self, value: object, path: str) -> None:
        source = self.obj(value, path)
        if source is None:
            return
        self.string(source, "label", path, required=True)
        self.http_url(source, "url", path, required=False)
        self.http_url(source, "icon", path, required=False)
        if "topic" in source:
            self.coding(source["topic"], f"{path}.topic", display_required=False)

    def suggestions(self, card: dict[str, object], path: str) -> None:
        suggestions = self.array(card, "suggestions", path)
        behavior = card.get("selectionBehavior")
        if suggestions and "selectionBehavior" not in card:
            self.err(f"{path}.selectionBehavior", "is required when suggestions are present")
        elif "selectionBehavior" in card and not suggestions and "suggestions" not in card:
            self.err(f"{path}.selectionBehavior", "must be omitted when there are no suggestions")
        if isinstance(behavior, str) and behavior and behavior not in SELECTION_BEHAVIORS:
            self.err(
                f"{path}.selectionBehavior",
                f"must be one of {sorted(SELECTION_BEHAVIORS)}, got {behavior!r}",
            )
        recommended = 0
        for i, value in enumerate(suggestions):
            spath = f"{path}.suggestions[{i}]"
            suggestion = self.obj(value, spath)
            if suggestion is None:
                continue
            self.string(suggestion, "label", spath, required=True)
            self.unique_uuid(suggestion, spath)
            flag = suggestion.get("isRecommended")
            if flag is not None and not isinstance(flag, bool):
                self.err(f"{spath}.isRecommended", "must be a boolean")
            recommended += flag is True
            for j, action in enumerate(self.array(suggestion, "actions", spath)):
                self.action(action, f"{spath}.actions[{j}]")
        if behavior == "at-most-one" and recommended > 1:
            self.err(
                f"{path}.suggestions",
                "at most one suggestion may be isRecommended when selectionBehavior is "
                "'at-most-one'",
            )

    def action(self, value: object, path: str) -> None:
        """Spec "Action": ``delete`` names the resource in ``resourceId`` and carries no
        ``resource``; ``create``/``update`` carry the whole resource (``update`` with its id)."""
        action = self.obj(value, path)
        if action is None:
            return
        kind = self.string(action, "type", path, required=True)
        self.string(action, "description", path, required=True)
        if kind is None:
            return
        if kind not in ACTION_TYPES:
            self.err(f"{path}.type", f"must be one of {sorted(ACTION_TYPES)}, got {kind!r}")
            return
        if kind == "delete":
            if "resource" in action:
                self.err(f"{path}.resource", "must be omitted on a delete action (use resourceId)")
            if "resourceId" not in action:
                self.err(f"{path}.resourceId", "is required on a delete action")
            else:
                self.resource_id(action["resourceId"], f"{path}.resourceId")
            return
        if "resource" not in action:
            self.err(f"{path}.resource", f"is required on a {kind} action")
            return
        resource = self.obj(action["resource"], f"{path}.resource")
        if resource is None:
            return
        self.string(resource, "resourceType", f"{path}.resource", required=True)
        if kind == "update":
            self.string(resource, "id", f"{path}.resource", required=True)

    def resource_id(self, value: object, path: str) -> None:
        if self.delete_resource_id == "list":
            if not isinstance(value, list):
                self.err(path, "must be an array of relative references ('Type/id')")
                return
            refs = [(f"{path}[{i}]", ref) for i, ref in enumerate(value)]
        else:
            if isinstance(value, list):
                self.err(path, "must be a single relative reference string ('Type/id')")
                return
            refs = [(path, value)]
        for ref_path, ref in refs:
            if isinstance(ref, str) and ref and not _RELATIVE_REFERENCE.match(ref):
                self.err(ref_path, f"must be a relative reference 'Type/id', got {ref!r}")
            elif ref is not None and not isinstance(ref, str):
                self.err(ref_path, f"must be a string, got {type(ref).__name__}")

    def link(self, value: object, path: str) -> None:
        link = self.obj(value, path)
        if link is None:
            return
        self.string(link, "label", path, required=True)
        self.http_url(link, "url", path, required=True)
        kind = self.string(link, "type", path, required=True)
        if kind is not None and kind not in LINK_TYPES:
            self.err(f"{path}.type", f"must be one of {sorted(LINK_TYPES)}, got {kind!r}")
        if "appContext" in link and kind != "smart":
            self.err(f"{path}.appContext", "is only valid on links of type 'smart'")
        flag = link.get("autolaunchable")
        if flag is not None and not isinstance(flag, bool):
            self.err(f"{path}.autolaunchable", "must be a boolean")
