"""One Coding model (app/knowledge/coding.py) for the FHIR code tables and the CDS Hooks wire:
each side reads and writes exactly the JSON it did with its own copy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.cds_hooks import models as cds
from app.feedback.schema import FeedbackCoding
from app.fhir import codes
from app.knowledge.coding import Coding

TOPIC = {"code": "sins", "system": "https://example.org/topics", "display": "SINS"}


def test_both_sides_use_the_one_definition() -> None:
    assert cds.Coding is Coding
    assert codes.FindingCode.model_fields["synonyms"].annotation == list[Coding]
    assert issubclass(FeedbackCoding, Coding)


def test_cds_hooks_round_trip_keeps_the_members_and_extensions() -> None:
    """CDS Hooks side: a card's topic and override reasons dump what was read (unknown members
    are kept, spec "Extensions"); an absent display is omitted by dump_response."""
    card = cds.Card(
        summary="s",
        indicator="info",
        source=cds.Source(label="VCF-CDS", topic=Coding.model_validate(TOPIC)),
        overrideReasons=[Coding.model_validate(TOPIC | {"extension": {"x": 1}})],
    )
    body = cds.dump_response(cds.CdsResponse(cards=[card]))
    assert body["cards"][0]["source"]["topic"] == TOPIC
    assert body["cards"][0]["overrideReasons"] == [TOPIC | {"extension": {"x": 1}}]
    bare = Coding(code="c", system="s")
    assert cds.dump_response(cds.Source(label="x", topic=bare)) == {
        "label": "x",
        "topic": {"code": "c", "system": "s"},
    }
    assert Coding.model_validate_json(Coding.model_validate(TOPIC).model_dump_json()) == (
        Coding.model_validate(TOPIC)
    )


def test_cds_hooks_coding_requires_code_and_system() -> None:
    with pytest.raises(ValidationError) as err:
        Coding.model_validate({"display": "no code"})
    assert {e["loc"] for e in err.value.errors()} == {("code",), ("system",)}


def _finding(synonym: dict[str, str]) -> dict[str, object]:
    return {
        "code": "vcf",
        "display": "VCF",
        "definition": "d",
        "type": "boolean",
        "per_level": True,
        "used_by": "u",
        "synonyms": [synonym],
    }


def test_fhir_code_table_round_trip() -> None:
    """FHIR side: a synonym of a finding code reads and dumps system/code/display."""
    syn = {"system": "http://loinc.org", "code": "1-2", "display": "x"}
    f = codes.FindingCode.model_validate(_finding(syn))
    assert f.synonyms == [Coding(system="http://loinc.org", code="1-2", display="x")]
    assert f.synonyms[0].model_dump() == syn
    assert hash(f.synonyms[0]) == hash(Coding.model_validate(syn))  # frozen, as before


def test_fhir_code_table_rejects_unknown_synonym_members() -> None:
    """The wire model keeps extra members; a data file's typo still stops loading."""
    with pytest.raises(ValidationError, match="members other than system/code/display"):
        codes.FindingCode.model_validate(_finding({"system": "s", "code": "c", "dispaly": "x"}))
