"""POST /api/v1/assessments: the body is exactly what its documented 200 model describes."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from pydantic import TypeAdapter

from app.api.rest.assessment_models import AssessmentBody, AssessmentResponse
from tests.fhir_builders import bundle, condition, draft, obs, patient, v1_observations

# every score family at least once: SINS, the seed 000 signs, ESCC, VBQ (without CSF: not
# computable), chemical shift, ADC, seed 001 / seed 004 Table 1 signs; a CPT draft order
RICH = [
    patient(),
    *v1_observations(),
    obs("s1", "sins-pain", "mechanical", "L1"),
    obs("s2", "sins-lesion", "lytic", "L1"),
    obs("m1", "marrow-signal-pattern", "diffuse", "L1"),
    obs("m2", "posterior-border", "convex", "L1"),
    obs("m4", "signal-asymmetry", True, "L1"),
    obs("m5", "pedicle-involvement", True, "L1"),
    obs("e1", "escc-grade", "1b", "L1"),
    obs("v1", "vbq-signal", 300.0, "L2", unit="1"),
    obs("c1", "chemical-shift-drop", 12.0, "L1"),
    obs("a1", "adc", 1.1, "L1", unit="10*-3.mm2/s"),
    obs("j1", "jigsaw-sign", True, "L1"),
    condition("c-pain", "M54.50"),
    draft("sr1", "72148", "MRI lumbar spine without contrast"),
]


def test_body_validates_against_the_documented_model(client: Any) -> None:
    response = client.post("/api/v1/assessments", json=bundle(RICH))
    assert response.status_code == 200, response.text
    body = response.json()
    # raises on any shape the documented model does not describe
    documented = TypeAdapter(AssessmentResponse).validate_python(body)
    assert list(body) == [f.name for f in fields(AssessmentResponse)]
    scores = documented.scores
    assert scores.sins.index_level == "L1" and scores.mri_malignancy and scores.escc
    assert scores.vbq is not None and scores.chemical_shift and scores.adc
    assert [o.id for o in documented.orders] == ["ServiceRequest/sr1"]


def test_assessment_members_round_trip_through_the_model(client: Any) -> None:
    """Serialising the validated model gives the body back: no member is produced by hand
    outside the model (absent optional members such as ``note`` stay absent)."""
    body = client.post("/api/v1/assessments", json=bundle(RICH)).json()
    part = {f.name: body[f.name] for f in fields(AssessmentBody)}
    adapter = TypeAdapter(AssessmentBody)
    assert adapter.dump_python(adapter.validate_python(part), mode="json") == part
    etiology = body["etiology_assessment"]
    assert etiology["suspected_pathological"] and etiology["basis"]  # the seed 000 signs at L1
    notes = [entry.get("note") for entry in body["clinical_state"].values()]
    assert None in notes and "" not in notes  # no note: the member is left out, never empty


def test_openapi_documents_the_200_body(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/api/v1/assessments"]["post"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) >= {"scores", "orders", "cards", "consult_id"}
