"""Standard code maps, site-local ConceptMap files, ConceptMap endpoints, coverage report and
the unmapped-coding metric (issue 8 items 1, 2 and 7)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.conceptmap import ConceptMap

from app.fhir.codes import DATA_DIR, code_tables
from app.fhir.concept_maps import (
    CANONICAL_SYSTEMS,
    LEVEL_SYSTEM,
    ConceptMapError,
    StandardMaps,
    build_index,
    index,
    install,
)
from app.fhir.observations import read_observation
from app.main import create_app
from app.observability.metrics import (
    MAX_UNMAPPED_CODES,
    MAX_UNMAPPED_SYSTEMS,
    OTHER,
    Metrics,
    app_metrics,
)
from app.settings import Settings
from tests.conftest import ClientFactory
from tests.fhir_builders import bundle, obs

SCT = "http://snomed.info/sct"
FINDING = "http://vcf-cds.org/fhir/CodeSystem/finding"
LOCAL = "http://hospital.example.org/codes"
RAW = json.loads((DATA_DIR / "standard_maps.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _packaged_maps() -> Iterator[None]:
    install(None)
    yield
    install(None)


# --- the packaged tables --------------------------------------------------------------------


def test_every_row_uses_a_canonical_system_and_a_known_target() -> None:
    known = code_tables().findings.by_code()
    allowed = set(CANONICAL_SYSTEMS.values())
    for group in ("findings", "levels", "level_elements", "boolean_answers", "integer_answers"):
        for row in RAW[group]:
            assert row["system"] in allowed, row
            assert row["source"].strip(), row
    for row in RAW["findings"]:
        assert row["finding"] in known
    assert CANONICAL_SYSTEMS["snomed"] == "http://snomed.info/sct"
    assert CANONICAL_SYSTEMS["loinc"] == "http://loinc.org"
    assert CANONICAL_SYSTEMS["icd-10-cm"] == "http://hl7.org/fhir/sid/icd-10-cm"
    assert CANONICAL_SYSTEMS["rxnorm"] == "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_no_duplicate_or_conflicting_rows() -> None:
    keys = [
        (r["system"], r["code"])
        for g in ("findings", "levels", "level_elements", "boolean_answers", "integer_answers")
        for r in RAW[g]
    ]
    assert len(keys) == len(set(keys))
    synonyms = {(s.system, s.code) for f in code_tables().findings.findings for s in f.synonyms}
    assert not synonyms & set(keys)


def test_every_vertebra_of_cid_7603_maps_to_its_level() -> None:
    levels = {r["level"] for r in RAW["levels"] if "CID 7603" in r["source"]}
    expected = {f"C{i}" for i in range(1, 8)} | {f"T{i}" for i in range(1, 13)}
    assert levels == expected | {f"L{i}" for i in range(1, 6)}
    assert index().level_by_coding[(SCT, "66794005")] == "L1"  # L1 vertebra
    assert index().level_by_coding[(SCT, "23215003")] == "T12"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["findings"].append(dict(d["findings"][0])), "duplicate or conflicting"),
        (lambda d: d["findings"][0].update(finding="no-such-finding"), "unknown finding"),
        (lambda d: d["levels"][0].update(level="L6"), "unknown level"),
        (lambda d: d["findings"][0].update(system="http://snomed.org/sct"), "canonical"),
        (lambda d: d["systems"].update(snomed="urn:oid:2.16.840.1.113883.6.96"), "canonical"),
    ],
)
def test_a_bad_packaged_row_is_rejected(mutate: Any, message: str) -> None:
    data = json.loads(json.dumps(RAW))
    mutate(data)
    with pytest.raises(ValueError, match=message):
        StandardMaps.model_validate(data)


# --- reading standard codes ----------------------------------------------------------------


def _obs(code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "x",
        "status": "final",
        "code": {"coding": [code]},
        "effectiveDateTime": "2026-11-20T10:00:00Z",
        **extra,
    }


def test_snomed_finding_with_cid_7603_body_site() -> None:
    o = _obs(
        {"system": SCT, "code": "42942008"},
        bodySite={"coding": [{"system": SCT, "code": "66794005", "display": "L1 vertebra"}]},
    )
    [c], issues = read_observation(o, "Observation/x")
    assert (c.code, c.level, c.value, issues) == ("vcf", "L1", True, [])


def test_present_absent_qualifiers_and_radelement_components() -> None:
    absent = _obs(
        {"system": SCT, "code": "161891005"},
        valueCodeableConcept={"coding": [{"system": SCT, "code": "2667000"}]},
    )
    [c], _ = read_observation(absent, "Observation/x")
    assert (c.code, c.value) == ("symptomatic", False)
    rde = _obs(
        {"system": "http://radelement.org", "code": "RDES230"},
        component=[
            {
                "code": {"coding": [{"system": "http://radelement.org", "code": "RDE1471"}]},
                "valueCodeableConcept": {"text": "Present"},
            },
            {
                "code": {"coding": [{"system": "http://radelement.org", "code": "RDE1472"}]},
                "valueCodeableConcept": {"text": "T12"},
            },
        ],
    )
    [c], issues = read_observation(rde, "Observation/x")
    assert (c.code, c.level, c.value, issues) == ("vcf", "T12", True, [])


def test_ecog_loinc_answer_code() -> None:
    o = _obs(
        {"system": "http://loinc.org", "code": "89247-1"},
        valueCodeableConcept={"coding": [{"system": "http://loinc.org", "code": "LA9625-0"}]},
    )
    [c], _ = read_observation(o, "Observation/x")
    assert (c.code, c.value) == ("ecog", 3)


def test_unknown_and_malformed_codings_are_reported_not_fatal() -> None:
    odd = _obs({"system": LOCAL, "code": "BACK-1"})
    odd["code"]["coding"].append({"system": 7, "code": None})
    found, issues = read_observation(odd, "Observation/x")
    assert found == [] and "no VCF-CDS finding code" in issues[0].message


# --- site-local ConceptMap files -----------------------------------------------------------


def _concept_map(
    elements: list[tuple[str, str]], target: str = FINDING, source: str = LOCAL
) -> dict[str, Any]:
    return {
        "resourceType": "ConceptMap",
        "id": "local",
        "status": "active",
        "group": [
            {
                "source": source,
                "target": target,
                "element": [
                    {"code": c, "target": [{"code": t, "equivalence": "equivalent"}]}
                    for c, t in elements
                ],
            }
        ],
    }


def _write(directory: Path, name: str, body: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def test_good_site_map_is_read(tmp_path: Path) -> None:
    _write(tmp_path, "a.json", _concept_map([("BACK-1", "symptomatic")]))
    _write(tmp_path, "b.json", _concept_map([("LEV-L2", "L2")], target=LEVEL_SYSTEM))
    install(tmp_path)
    o = _obs(
        {"system": LOCAL, "code": "BACK-1"},
        valueBoolean=True,
    )
    [c], _ = read_observation(o, "Observation/x")
    assert (c.code, c.value) == ("symptomatic", True)
    o = _obs(
        {"system": FINDING, "code": "vcf"},
        valueBoolean=True,
        bodySite={"coding": [{"system": LOCAL, "code": "LEV-L2"}]},
    )
    [c], _ = read_observation(o, "Observation/x")
    assert c.level == "L2"
    assert index().site_files == ["a.json", "b.json"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("{not json", "not valid JSON"),
        ({"resourceType": "ValueSet", "status": "active"}, "resourceType"),
        ({"resourceType": "ConceptMap", "status": "active", "group": 5}, "group"),
        (_concept_map([("X", "no-such-finding")]), "group[0].element[0].target[0].code"),
        (_concept_map([("X", "L6")], target=LEVEL_SYSTEM), "group[0].element[0].target[0].code"),
        (_concept_map([("X", "vcf")], target="http://other.org"), "group[0].target"),
    ],
)
def test_bad_site_map_stops_start_up_naming_file_and_element(
    tmp_path: Path, body: Any, where: str, settings: Settings
) -> None:
    _write(tmp_path / "maps", "site-bad.json", body)
    with pytest.raises(ConceptMapError) as err:
        build_index(tmp_path / "maps")
    assert "site-bad.json" in str(err.value) and where in str(err.value)
    bad = settings.model_copy(update={"site_conceptmap_dir": tmp_path / "maps"})
    with pytest.raises(ConceptMapError, match=r"site-bad\.json"):
        create_app(bad)


def test_conflicting_site_maps_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "a.json", _concept_map([("BACK-1", "symptomatic")]))
    _write(tmp_path, "b.json", _concept_map([("BACK-1", "fever")]))
    with pytest.raises(ConceptMapError, match=r"b\.json.*BACK-1.*conflicts with.*a\.json"):
        build_index(tmp_path)
    clash = tmp_path / "std"
    _write(clash, "c.json", _concept_map([("161891005", "fever")], source=SCT))
    with pytest.raises(ConceptMapError, match=r"c\.json.*161891005.*conflicts"):
        build_index(clash)


def test_site_maps_change_the_knowledge_version(
    tmp_path: Path, settings: Settings, make_client: ClientFactory
) -> None:
    plain = create_app(settings).state.knowledge.version
    _write(tmp_path, "a.json", _concept_map([("BACK-1", "symptomatic")]))
    c = make_client(site_conceptmap_dir=tmp_path)
    version = c.get("/api/v1/health").json().get("knowledge_version")
    assert c.app.state.knowledge.version.startswith(plain + "+maps.")  # type: ignore[attr-defined]
    assert version in (None, c.app.state.knowledge.version)  # type: ignore[attr-defined]
    ids = [e["resource"]["id"] for e in c.get("/fhir/ConceptMap").json()["entry"]]
    assert "site-a" in ids


# --- endpoints -------------------------------------------------------------------------------


def test_concept_map_endpoints_serve_valid_r4(client: TestClient) -> None:
    r = client.get("/fhir/ConceptMap")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    body = Bundle.model_validate(r.json())
    ids = [e.resource.id for e in body.entry or []]  # type: ignore[union-attr]
    assert {"standard-findings", "standard-levels", "standard-answers"} <= set(ids)
    one = client.get("/fhir/ConceptMap/standard-levels").json()
    cm = ConceptMap.model_validate(one)
    codes = {(g.source, e.code) for g in cm.group or [] for e in g.element or []}
    assert (SCT, "66794005") in codes
    assert all(t.comment for g in cm.group or [] for e in g.element or [] for t in e.target or [])
    missing = client.get("/fhir/ConceptMap/nope")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"


# --- coverage report and metrics -------------------------------------------------------------


def test_assessment_lists_coverage_per_resource(client: TestClient) -> None:
    vcf = obs("o-vcf", "vcf", True, "L1")
    bad = obs("o-bad", "kyphosis", "not-a-number")
    unmapped = _obs({"system": LOCAL, "code": "ZZZ"}, id="o-local", valueBoolean=True)
    superseded = obs("o-old", "vcf", False, "L1", date="2020-01-01T00:00:00Z")
    r = client.post("/api/v1/assessments", json=bundle([vcf, bad, unmapped, superseded]))
    assert r.status_code == 200, r.text
    cov = {c["resource"]: c for c in r.json()["coverage"]}
    assert cov["Observation/o-vcf"]["contributed"] == [
        {"input": "vcf", "level": "L1", "value": True}
    ]
    assert cov["Observation/o-bad"]["contributed"] == [] and cov["Observation/o-bad"]["ignored"]
    assert cov["Observation/o-local"]["unmapped_codings"] == [{"system": LOCAL, "code": "ZZZ"}]
    assert "superseded" in cov["Observation/o-old"]["ignored"][0]["reason"]
    metrics = app_metrics(client.app)
    assert metrics is not None
    text = metrics.render()[0].decode()
    assert f'vcf_cds_unmapped_codings_total{{code="ZZZ",system="{LOCAL}"}} 1.0' in text


def test_unmapped_metric_caps_label_cardinality() -> None:
    m = Metrics()
    m.observe_unmapped((LOCAL, f"C{i}") for i in range(MAX_UNMAPPED_CODES + 50))
    m.observe_unmapped((f"http://sys{i}.org", "X") for i in range(100))
    samples = [
        s
        for metric in m.registry.collect()
        if metric.name == "vcf_cds_unmapped_codings"
        for s in metric.samples
        if s.name.endswith("_total")
    ]
    assert len(samples) <= MAX_UNMAPPED_CODES + MAX_UNMAPPED_SYSTEMS + 1
    other = {(s.labels["system"], s.labels["code"]): s.value for s in samples}
    assert other[(LOCAL, OTHER)] == 50
    assert other[(OTHER, OTHER)] >= 80


def test_the_documented_example_site_map_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "site-conceptmaps"
    idx = build_index(example)
    assert (
        idx.finding_by_coding[
            ("http://hospital.example.org/fhir/CodeSystem/radiology-findings", "SPINE-VCF")
        ]
        == "vcf"
    )
    assert (
        idx.level_by_coding[("http://hospital.example.org/fhir/CodeSystem/spine-levels", "LWK1")]
        == "L1"
    )


@pytest.mark.parametrize(
    ("verification", "clinical", "expected"),
    [
        (None, "active", [True]),
        ("refuted", "inactive", [False]),
        ("provisional", "active", [None]),
        ("entered-in-error", "active", []),
        (None, "resolved", []),
    ],
)
def test_symptom_conditions_by_status(
    verification: str | None, clinical: str, expected: list[bool | None]
) -> None:
    from app.fhir.condition_findings import read_condition_findings

    c: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "c",
        "clinicalStatus": {"coding": [{"code": clinical}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "r509"}]},
    }
    if verification:
        c["verificationStatus"] = {"coding": [{"code": verification}]}
    found, issues = read_condition_findings(c, "Condition/c")
    assert [f.value for f in found] == expected
    assert all(f.code == "fever" for f in found)
    assert bool(issues) == (clinical == "resolved" and verification is None)


def test_a_condition_with_a_history_rule_is_not_also_a_finding() -> None:
    from app.fhir.condition_findings import read_condition_findings

    c = {
        "resourceType": "Condition",
        "id": "c",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": SCT, "code": "42942008"}]},
    }
    assert read_condition_findings(c, "Condition/c") == ([], [])
