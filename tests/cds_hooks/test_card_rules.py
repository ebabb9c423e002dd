"""One test per rule of app.cds_hooks.card_rules: each proves the rule rejects a violating
card and accepts the valid one. Plus: models serialised by dump_response pass the rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from app.cds_hooks.card_rules import validate_cds_response
from app.cds_hooks.models import (
    Action,
    Card,
    CdsResponse,
    Coding,
    FeedbackRequest,
    HookRequest,
    Link,
    Source,
    Suggestion,
    dump_response,
)

CARD_UUID = "4e0a3a1e-3283-4575-ab82-028d55fe2719"
SUGGESTION_UUID = "e56e1945-20b3-4393-8503-a1a20fd73152"
TOPIC_SYSTEM = "http://vcf-cds.org/fhir/CodeSystem/card-topic"


def valid_card() -> dict[str, Any]:
    """A card using every optional element, valid under every rule."""
    return {
        "uuid": CARD_UUID,
        "summary": "MRI lumbar spine without contrast: Usually Not Appropriate",
        "indicator": "warning",
        "detail": "**Variant 1**: rating 2 (Usually Not Appropriate). See `acr-variant-1`.",
        "source": {
            "label": "ACR Appropriateness Criteria",
            "url": "https://acsearch.acr.org/list",
            "topic": {"system": TOPIC_SYSTEM, "code": "order-appropriateness"},
        },
        "selectionBehavior": "at-most-one",
        "suggestions": [
            {
                "label": "Order radiography of the thoracolumbar spine instead",
                "uuid": SUGGESTION_UUID,
                "isRecommended": True,
                "actions": [
                    {
                        "type": "delete",
                        "description": "Remove the draft MRI order",
                        "resourceId": "ServiceRequest/draft-mri-1",
                    },
                    {
                        "type": "create",
                        "description": "Order radiography of the thoracolumbar spine",
                        "resource": {"resourceType": "ServiceRequest", "status": "draft"},
                    },
                ],
            }
        ],
        "overrideReasons": [
            {"system": "http://vcf-cds.org/override", "code": "red-flags", "display": "Red flags"}
        ],
        "links": [
            {"label": "Why?", "url": "https://vcf-cds.example.org/explain/1", "type": "absolute"},
            {
                "label": "Open app",
                "url": "https://app.example.org/launch",
                "type": "smart",
                "appContext": "session-123",
            },
        ],
    }


def response(card: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"cards": [card], **top}


def violations(card: dict[str, Any], **top: Any) -> list[str]:
    return validate_cds_response(response(card, **top))


def assert_rejected(card: dict[str, Any], path: str, fragment: str) -> None:
    errors = violations(card)
    assert any(e.startswith(path) and fragment in e for e in errors), errors


def test_valid_card_passes_every_rule() -> None:
    assert violations(valid_card()) == []
    assert validate_cds_response({"cards": []}) == []


def test_cards_must_be_a_list() -> None:
    assert validate_cds_response({"cards": {}}) == ["$.cards: must be an array"]
    assert validate_cds_response({}) == ["$.cards: is required"]
    assert validate_cds_response({"cards": [valid_card()]}) == []


def test_card_uuid_required_and_valid() -> None:
    missing = valid_card()
    del missing["uuid"]
    assert_rejected(missing, "$.cards[0].uuid", "is required")
    bad = valid_card() | {"uuid": "card-1"}
    assert_rejected(bad, "$.cards[0].uuid", "must be a UUID")
    assert violations(valid_card()) == []


def test_card_uuids_unique() -> None:
    twin = valid_card()
    twin["suggestions"][0]["uuid"] = "0b9f5f0e-7a3c-4c55-9a87-3b3f1d2f8a11"
    errors = validate_cds_response({"cards": [valid_card(), twin]})
    assert any("$.cards[1].uuid: duplicates the uuid of $.cards[0]" in e for e in errors), errors
    other = copy.deepcopy(twin) | {"uuid": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"}
    assert validate_cds_response({"cards": [valid_card(), other]}) == []


def test_summary_required_and_shorter_than_140() -> None:
    assert_rejected(valid_card() | {"summary": "x" * 140}, "$.cards[0].summary", "shorter than 140")
    missing = valid_card()
    del missing["summary"]
    assert_rejected(missing, "$.cards[0].summary", "is required")
    assert violations(valid_card() | {"summary": "x" * 139}) == []


def test_indicator_in_value_set() -> None:
    assert_rejected(valid_card() | {"indicator": "hard-stop"}, "$.cards[0].indicator", "one of")
    for indicator in ("info", "warning", "critical"):
        assert violations(valid_card() | {"indicator": indicator}) == []


def test_source_label_required() -> None:
    card = valid_card()
    del card["source"]["label"]
    assert_rejected(card, "$.cards[0].source.label", "is required")
    no_source = valid_card()
    del no_source["source"]
    assert_rejected(no_source, "$.cards[0].source", "is required")
    assert violations(valid_card()) == []


def test_source_topic_is_a_coding_with_system_and_code() -> None:
    card = valid_card()
    card["source"]["topic"] = {"code": "sins"}
    assert_rejected(card, "$.cards[0].source.topic.system", "is required")
    card["source"]["topic"] = "sins"
    assert_rejected(card, "$.cards[0].source.topic", "must be an object")
    ok = valid_card()
    ok["source"]["topic"]["display"] = "Order appropriateness"
    assert violations(ok) == []


def test_detail_is_markdown_without_raw_html() -> None:
    assert_rejected(valid_card() | {"detail": "Rating <b>2</b>"}, "$.cards[0].detail", "raw HTML")
    assert_rejected(valid_card() | {"detail": "a<br/>b"}, "$.cards[0].detail", "raw HTML")
    assert_rejected(valid_card() | {"detail": "<!-- x -->"}, "$.cards[0].detail", "raw HTML")
    markdown = (
        "SINS < 7 and a <https://acsearch.acr.org> autolink; code `<br>` is fine.\n\n"
        "```\n<div>in a fence</div>\n```\n| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert violations(valid_card() | {"detail": markdown}) == []


def test_no_null_anywhere_in_the_card_tree() -> None:
    card = valid_card()
    card["source"]["url"] = None
    assert_rejected(card, "$.cards[0].source.url", "null is not allowed")
    nested = valid_card()
    nested["suggestions"][0]["actions"][1]["resource"]["note"] = None
    assert_rejected(nested, "$.cards[0].suggestions[0].actions[1].resource.note", "null")
    assert violations(valid_card()) == []


def test_no_empty_strings_lists_or_objects() -> None:
    assert_rejected(valid_card() | {"detail": ""}, "$.cards[0].detail", "empty string")
    assert_rejected(valid_card() | {"detail": "   "}, "$.cards[0].detail", "empty string")
    assert_rejected(valid_card() | {"links": []}, "$.cards[0].links", "empty array")
    card = valid_card()
    card["source"]["topic"] = {}
    assert_rejected(card, "$.cards[0].source.topic", "empty object")
    assert violations(valid_card()) == []


def test_suggestion_label_and_uuid_required() -> None:
    card = valid_card()
    del card["suggestions"][0]["label"]
    assert_rejected(card, "$.cards[0].suggestions[0].label", "is required")
    card = valid_card()
    del card["suggestions"][0]["uuid"]
    assert_rejected(card, "$.cards[0].suggestions[0].uuid", "is required")
    assert violations(valid_card()) == []


def test_suggestion_uuids_unique() -> None:
    card = valid_card()
    card["suggestions"].append(copy.deepcopy(card["suggestions"][0]))
    card["suggestions"][1]["isRecommended"] = False
    assert_rejected(card, "$.cards[0].suggestions[1].uuid", "duplicates")
    card["suggestions"][1]["uuid"] = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    assert violations(card) == []


def test_selection_behavior_present_iff_suggestions() -> None:
    card = valid_card()
    del card["selectionBehavior"]
    assert_rejected(card, "$.cards[0].selectionBehavior", "required when suggestions")
    card = valid_card()
    del card["suggestions"]
    assert_rejected(card, "$.cards[0].selectionBehavior", "must be omitted")
    del card["selectionBehavior"]
    assert violations(card) == []


def test_selection_behavior_in_value_set() -> None:
    card = valid_card() | {"selectionBehavior": "all"}
    assert_rejected(card, "$.cards[0].selectionBehavior", "one of")
    assert violations(valid_card() | {"selectionBehavior": "any"}) == []


def test_at_most_one_allows_a_single_recommended_suggestion() -> None:
    card = valid_card()
    second = copy.deepcopy(card["suggestions"][0])
    second["uuid"] = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    card["suggestions"].append(second)
    assert_rejected(card, "$.cards[0].suggestions", "at most one")
    assert violations(card | {"selectionBehavior": "any"}) == []


def test_action_type_and_description() -> None:
    card = valid_card()
    card["suggestions"][0]["actions"][1]["type"] = "replace"
    assert_rejected(card, "$.cards[0].suggestions[0].actions[1].type", "one of")
    card = valid_card()
    del card["suggestions"][0]["actions"][0]["description"]
    assert_rejected(card, "$.cards[0].suggestions[0].actions[0].description", "is required")
    assert violations(valid_card()) == []


def test_delete_action_uses_resource_id_not_resource() -> None:
    path = "$.cards[0].suggestions[0].actions[0]"
    card = valid_card()
    delete = card["suggestions"][0]["actions"][0]
    del delete["resourceId"]
    assert_rejected(card, f"{path}.resourceId", "is required")
    delete["resource"] = {"resourceType": "ServiceRequest", "id": "draft-mri-1"}
    assert_rejected(card, f"{path}.resource", "must be omitted")
    card = valid_card()
    card["suggestions"][0]["actions"][0]["resourceId"] = "draft-mri-1"
    assert_rejected(card, f"{path}.resourceId", "relative reference")
    card["suggestions"][0]["actions"][0]["resourceId"] = ["ServiceRequest/draft-mri-1"]
    assert_rejected(card, f"{path}.resourceId", "single relative reference")
    assert violations(valid_card()) == []


def test_delete_resource_id_list_shape_is_selectable() -> None:
    card = valid_card()
    card["suggestions"][0]["actions"][0]["resourceId"] = ["ServiceRequest/draft-mri-1"]
    assert validate_cds_response(response(card), delete_resource_id="list") == []
    errors = validate_cds_response(response(valid_card()), delete_resource_id="list")
    assert any("must be an array of relative references" in e for e in errors), errors


def test_create_and_update_carry_a_resource_with_resource_type() -> None:
    path = "$.cards[0].suggestions[0].actions[1]"
    card = valid_card()
    del card["suggestions"][0]["actions"][1]["resource"]
    assert_rejected(card, f"{path}.resource", "is required on a create action")
    card = valid_card()
    del card["suggestions"][0]["actions"][1]["resource"]["resourceType"]
    assert_rejected(card, f"{path}.resource.resourceType", "is required")
    card = valid_card()
    update = card["suggestions"][0]["actions"][1]
    update["type"] = "update"
    assert_rejected(card, f"{path}.resource.id", "is required")
    update["resource"]["id"] = "draft-mri-1"
    assert violations(card) == []


def test_swap_as_one_update_or_as_delete_and_create_are_both_valid() -> None:
    """Swap suggestions come in two shapes (settings.swap_actions): one ``update`` of the draft
    order (Argonaut PAMA; the default) or ``delete`` + ``create``; the rules accept both."""
    update_only = valid_card()
    update_only["suggestions"][0]["actions"] = [
        {
            "type": "update",
            "description": "Change the draft order to radiography of the thoracolumbar spine",
            "resource": {"resourceType": "ServiceRequest", "id": "draft-mri-1", "status": "draft"},
        }
    ]
    assert violations(update_only) == []
    assert violations(valid_card()) == []  # delete + create
    del update_only["suggestions"][0]["actions"][0]["resource"]["id"]
    assert_rejected(update_only, "$.cards[0].suggestions[0].actions[0].resource.id", "required")


def test_override_reasons_are_codings_with_display() -> None:
    for field in ("code", "system", "display"):
        card = valid_card()
        del card["overrideReasons"][0][field]
        assert_rejected(card, f"$.cards[0].overrideReasons[0].{field}", "is required")
    assert violations(valid_card()) == []


def test_links_have_label_absolute_url_and_type() -> None:
    card = valid_card()
    del card["links"][0]["label"]
    assert_rejected(card, "$.cards[0].links[0].label", "is required")
    card = valid_card()
    card["links"][0]["url"] = "/explain/1"
    assert_rejected(card, "$.cards[0].links[0].url", "absolute http(s) URL")
    card = valid_card()
    card["links"][0]["type"] = "relative"
    assert_rejected(card, "$.cards[0].links[0].type", "one of")
    assert violations(valid_card()) == []


def test_app_context_only_on_smart_links() -> None:
    card = valid_card()
    card["links"][0]["appContext"] = "session-123"
    assert_rejected(card, "$.cards[0].links[0].appContext", "only valid on links of type 'smart'")
    assert violations(valid_card()) == []


def test_system_actions_follow_action_rules() -> None:
    update = {
        "type": "update",
        "description": "Record the appropriateness rating on the draft order",
        "resource": {"resourceType": "ServiceRequest", "id": "draft-mri-1"},
    }
    assert violations(valid_card(), systemActions=[update]) == []
    assert violations(valid_card(), systemActions=[]) == []
    errors = violations(valid_card(), systemActions=[{"type": "delete", "description": "x"}])
    assert "$.systemActions[0].resourceId: is required on a delete action" in errors
    errors = violations(valid_card(), systemActions=[update | {"description": None}])
    assert any(e.startswith("$.systemActions[0].description: null") for e in errors), errors
    assert violations(valid_card(), systemActions={}) == ["$.systemActions: must be an array"]


# --- models -> dump_response -> rules ------------------------------------------------------


def test_dump_response_omits_unset_optionals_and_passes_rules() -> None:
    model = CdsResponse(
        cards=[
            Card(
                uuid=CARD_UUID,
                summary="MRI: Usually Not Appropriate",
                indicator="warning",
                source=Source(label="ACR", topic=Coding(system=TOPIC_SYSTEM, code="sins")),
                suggestions=[
                    Suggestion(
                        label="Radiography instead",
                        uuid=SUGGESTION_UUID,
                        actions=[
                            Action(
                                type="delete",
                                description="Remove the draft",
                                resourceId="ServiceRequest/draft-mri-1",
                            )
                        ],
                    )
                ],
                selectionBehavior="at-most-one",
                links=[Link(label="Why?", url="https://example.org/why", type="absolute")],
            )
        ],
        systemActions=[],
    )
    body = dump_response(model)
    assert "systemActions" not in body
    assert "detail" not in body["cards"][0]
    assert "display" not in body["cards"][0]["source"]["topic"]
    assert validate_cds_response(body) == []
    assert dump_response(CdsResponse(cards=[])) == {"cards": []}


def test_models_enforce_conditional_fields() -> None:
    with pytest.raises(ValidationError):
        Link(label="x", url="https://example.org", type="absolute", appContext="a")
    with pytest.raises(ValidationError):
        Card(
            summary="s",
            indicator="info",
            source=Source(label="l"),
            suggestions=[Suggestion(label="x")],
        )
    with pytest.raises(ValidationError):
        FeedbackRequest.model_validate(
            {"feedback": [{"card": CARD_UUID, "outcome": "accepted", "outcomeTimestamp": "x"}]}
        )


def test_hook_request_tolerates_null_prefetch_and_extra_fields() -> None:
    request = HookRequest.model_validate(
        {
            "hook": "order-select",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "fhirServer": "https://ehr.example.org/fhir",
            "fhirAuthorization": {
                "access_token": "t",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "user/Patient.read",
                "subject": "vcf-cds",
            },
            "context": {"patientId": "1", "selections": [], "draftOrders": {}},
            "prefetch": {"patient": None, "conditions": {"resourceType": "OperationOutcome"}},
            "extension": {"org.example.x": 1},
        }
    )
    assert request.prefetch == {"patient": None, "conditions": {"resourceType": "OperationOutcome"}}
    with pytest.raises(ValidationError):
        HookRequest.model_validate(
            {
                "hook": "patient-view",
                "hookInstance": "i",
                "context": {},
                "fhirAuthorization": request.fhirAuthorization.model_dump()
                if request.fhirAuthorization
                else {},
            }
        )
    feedback = FeedbackRequest.model_validate(
        {
            "feedback": [
                {
                    "card": CARD_UUID,
                    "outcome": "overridden",
                    "overrideReason": {
                        "reason": {"code": "red-flags", "system": "http://x"},
                        "userComment": "c",
                    },
                    "outcomeTimestamp": "2020-12-11T00:00:00Z",
                }
            ]
        }
    )
    assert feedback.feedback[0].overrideReason is not None
