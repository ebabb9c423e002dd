"""Hypothesis strategies for malformed FHIR R4 JSON: resources whose elements have the wrong
types or are missing, unknown resource types, huge strings, deep nesting (up to and past the
request depth cap), Bundles with junk entries, OperationOutcomes, nulls, numbers where objects
are expected, NaN-like strings and odd unicode (NUL, lone surrogates, bidi controls).

Well-formed pieces (real finding, level, ICD-10 and CPT codes) are mixed in, so that the
generated inputs reach the clinical code and not only the first type check."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fhir_builders import CPT, FINDING, ICD10, LEVEL

Json = Any

HUGE = 100_000  # characters of a "huge" string

FINDING_CODES = (
    "vcf",
    "vcf-acute",
    "multiple-vcfs",
    "symptomatic",
    "mechanical-pain",
    "marrow-edema",
    "fluid-cleft",
    "fracture-etiology",
    "marrow-signal-pattern",
    "posterior-border",
    "cord-compression",
    "escc-grade",
    "sins-collapse",
    "collapse-percent",
    "vbq-signal",
    "csf-signal",
    "field-strength",
    "adc",
    "fever",
    "life-expectancy",
    "ecog",
    "vertebral-level",
)
LEVELS = ("C7", "T12", "L1", "L3", "S1", "L6", "t12", "")
ICD_CODES = ("C79.51", "M80.08", "M48.5", "M80", "S32.0", "C79.5")
CPT_CODES = ("72148", "72158", "72131", "22510", "22513", "77300", "99999")

ODD_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil",  # right-to-left override
    "\ufeff",
    "e\u0301",
    "𝕍𝕮𝔽",
    "🦴" * 40,
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "1e999",
    "-0",
    "0x1F",
    "null",
    "true",
    "[]",
    "{}",
    "Patient/",
    "Patient/p1/_history/1",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "%00",
    "2026-13-45",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "2026-11-20T25:61:61+99:00",
    "2026",
    "2026-02",
    "-2026-01-01",
)

# lone surrogates: valid JSON escapes (or bytes Python's json decodes), but not Unicode text;
# kept apart because any one of them anywhere makes the whole request a 400
SURROGATES = ("\ud800", "\udfff\ud800", "a\udc00b")

DATES = st.sampled_from(
    ("2026-11-20", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00+14:00", "1900-01-01", *ODD_STRINGS)
)


def weighted(*options: tuple[int, st.SearchStrategy[Json]]) -> st.SearchStrategy[Json]:
    """Draw from each strategy with the given relative weight. (``st.one_of`` is no way to
    weight branches: it does not pick them uniformly, and favours small, simple ones.)"""
    pool = [strategy for weight, strategy in options for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


def huge_strings() -> st.SearchStrategy[str]:
    return st.sampled_from(("x", "\x00", "é", "[", "{", "\\")).map(lambda c: c * HUGE)


def odd_strings() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(ODD_STRINGS),
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8"), max_size=20),
        st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=8),
    )


def scalars() -> st.SearchStrategy[Json]:
    """Anything but an object: null, booleans, numbers (also huge, NaN, infinite), strings."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),  # includes NaN and +-Infinity (sent as JSON literals Python accepts)
        st.sampled_from((0, -1, 1e308, -1e308, 5e-324)),
        odd_strings(),
    )


def nested(depth: int, leaf: Json = "x") -> Json:
    """``depth`` levels of alternating objects and arrays around ``leaf``."""
    value = leaf
    for i in range(depth):
        value = {"a": value} if i % 2 else [value]
    return value


def deep(max_depth: int) -> st.SearchStrategy[Json]:
    """Nesting up to a little past the request depth cap."""
    return st.integers(min_value=1, max_value=max_depth + 8).map(nested)


def junk(max_depth: int) -> st.SearchStrategy[Json]:
    """Arbitrary JSON of any shape: small, or now and then nested up to past the cap."""
    small = st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(odd_strings(), inner, max_size=4),
        ),
        max_leaves=12,
    )
    return weighted((3, small), (1, deep(max_depth)))


def maybe(strategy: st.SearchStrategy[Json], max_depth: int) -> st.SearchStrategy[Json]:
    """Mostly the well-formed value; else junk of any type or a huge string in its place."""
    return weighted((6, strategy), (2, junk(max_depth)), (1, huge_strings()))


def coding(system: str, codes: tuple[str, ...], max_depth: int) -> st.SearchStrategy[Json]:
    good = st.fixed_dictionaries(
        {"system": st.sampled_from((system, "", "urn:other"))},
        optional={
            "code": st.one_of(st.sampled_from(codes), odd_strings()),
            "display": odd_strings(),
        },
    )
    return maybe(good, max_depth)


def concept(system: str, codes: tuple[str, ...], max_depth: int) -> st.SearchStrategy[Json]:
    good = st.fixed_dictionaries(
        {},
        optional={
            "coding": st.one_of(st.lists(coding(system, codes, max_depth), max_size=3), scalars()),
            "text": odd_strings(),
        },
    )
    return maybe(good, max_depth)


def reference(max_depth: int) -> st.SearchStrategy[Json]:
    good = st.fixed_dictionaries(
        {}, optional={"reference": st.one_of(st.just("Patient/p1"), odd_strings())}
    )
    return maybe(good, max_depth)


def quantity(max_depth: int) -> st.SearchStrategy[Json]:
    good = st.fixed_dictionaries(
        {},
        optional={
            "value": scalars(),
            "unit": odd_strings(),
            "system": st.sampled_from(("http://unitsofmeasure.org", "")),
            "code": st.sampled_from(("%", "mm", "10*-3.mm2/s", "T", "a", "")),
            "comparator": st.sampled_from(("<", ">=", "ad", "")),
        },
    )
    return maybe(good, max_depth)


def period(max_depth: int) -> st.SearchStrategy[Json]:
    good = st.fixed_dictionaries({}, optional={"start": maybe(DATES, 1), "end": maybe(DATES, 1)})
    return maybe(good, max_depth)


def observation(max_depth: int) -> st.SearchStrategy[Json]:
    value_keys = {
        "valueBoolean": st.one_of(st.booleans(), scalars()),
        "valueQuantity": quantity(max_depth),
        "valueCodeableConcept": concept(FINDING, FINDING_CODES, max_depth),
        "valueString": maybe(odd_strings(), max_depth),
        "valueInteger": scalars(),
        "valueRange": junk(max_depth),
    }
    return st.fixed_dictionaries(
        {"resourceType": st.just("Observation")},
        optional={
            "id": maybe(st.sampled_from(("o1", "o2", "o-vcf")), max_depth),
            "status": maybe(
                st.sampled_from(("final", "amended", "preliminary", "entered-in-error")),
                max_depth,
            ),
            "code": concept(FINDING, FINDING_CODES, max_depth),
            "subject": reference(max_depth),
            "effectiveDateTime": maybe(DATES, max_depth),
            "effectivePeriod": period(max_depth),
            "issued": maybe(DATES, max_depth),
            "bodySite": concept(LEVEL, LEVELS, max_depth),
            "component": maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "code": concept(FINDING, FINDING_CODES, max_depth),
                            "valueQuantity": quantity(max_depth),
                            "valueBoolean": scalars(),
                        },
                    ),
                    max_size=3,
                ),
                max_depth,
            ),
            **value_keys,
        },
    )


def condition(max_depth: int) -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"resourceType": st.just("Condition")},
        optional={
            "id": maybe(st.just("c1"), max_depth),
            "clinicalStatus": concept(
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
                ("active", "resolved", "remission"),
                max_depth,
            ),
            "verificationStatus": concept(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                ("confirmed", "refuted", "entered-in-error"),
                max_depth,
            ),
            "code": concept(ICD10, ICD_CODES, max_depth),
            "subject": reference(max_depth),
            "onsetDateTime": maybe(DATES, max_depth),
            "recordedDate": maybe(DATES, max_depth),
            "bodySite": maybe(st.lists(concept(LEVEL, LEVELS, max_depth), max_size=2), max_depth),
        },
    )


def procedure(max_depth: int) -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"resourceType": st.just("Procedure")},
        optional={
            "status": maybe(st.sampled_from(("completed", "not-done")), max_depth),
            "code": concept(CPT, CPT_CODES, max_depth),
            "subject": reference(max_depth),
            "performedDateTime": maybe(DATES, max_depth),
            "performedPeriod": period(max_depth),
        },
    )


def medication(max_depth: int) -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"resourceType": st.sampled_from(("MedicationStatement", "MedicationRequest"))},
        optional={
            "status": maybe(st.sampled_from(("active", "completed", "stopped")), max_depth),
            "medicationCodeableConcept": concept(
                "http://www.nlm.nih.gov/research/umls/rxnorm", ("8640", "5492"), max_depth
            ),
            "medicationReference": reference(max_depth),
            "subject": reference(max_depth),
            "effectivePeriod": period(max_depth),
            "authoredOn": maybe(DATES, max_depth),
            "dosage": junk(max_depth),
            "dosageInstruction": junk(max_depth),
        },
    )


def patient(max_depth: int) -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"resourceType": st.just("Patient")},
        optional={
            "id": maybe(st.just("p1"), max_depth),
            "birthDate": maybe(DATES, max_depth),
            "gender": scalars(),
            "deceasedBoolean": scalars(),
        },
    )


def service_request(max_depth: int) -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"resourceType": st.just("ServiceRequest")},
        optional={
            "id": maybe(st.sampled_from(("sr1", "sr2")), max_depth),
            "status": maybe(st.sampled_from(("draft", "active")), max_depth),
            "intent": maybe(st.just("order"), max_depth),
            "code": concept(CPT, CPT_CODES, max_depth),
            "subject": reference(max_depth),
            "bodySite": maybe(st.lists(concept(LEVEL, LEVELS, max_depth), max_size=2), max_depth),
            "reasonCode": junk(max_depth),
        },
    )


def operation_outcome(max_depth: int) -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"resourceType": st.just("OperationOutcome")},
        optional={
            "issue": maybe(
                st.lists(
                    st.fixed_dictionaries({}, optional={"severity": scalars(), "code": scalars()}),
                    max_size=3,
                ),
                max_depth,
            )
        },
    )


def odd_resource(max_depth: int) -> st.SearchStrategy[Json]:
    """Unknown or missing resourceType, or a resourceType of the wrong type."""
    return st.fixed_dictionaries(
        {},
        optional={
            "resourceType": st.one_of(
                st.sampled_from(("Foo", "observation", "Bundle ", "DomainResource")), scalars()
            ),
            "id": scalars(),
            "code": junk(max_depth),
        },
    )


def resource(max_depth: int) -> st.SearchStrategy[Json]:
    return st.one_of(
        observation(max_depth),
        condition(max_depth),
        procedure(max_depth),
        medication(max_depth),
        patient(max_depth),
        service_request(max_depth),
        operation_outcome(max_depth),
        odd_resource(max_depth),
    )


def entry(max_depth: int, inner: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    return st.one_of(
        st.fixed_dictionaries({"resource": inner}, optional={"fullUrl": odd_strings()}),
        st.fixed_dictionaries({}, optional={"search": junk(max_depth)}),  # no resource
        scalars(),
    )


def bundles(max_depth: int) -> st.SearchStrategy[Json]:
    """Bundles of (mostly) malformed resources; Bundles may nest Bundles."""

    def bundle_of(inner: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
        return st.fixed_dictionaries(
            {"resourceType": st.just("Bundle")},
            optional={
                "type": st.one_of(st.sampled_from(("searchset", "collection")), scalars()),
                "entry": st.one_of(st.lists(entry(max_depth, inner), max_size=6), scalars()),
                "total": scalars(),
            },
        )

    return (
        st.recursive(
            resource(max_depth),
            lambda inner: bundle_of(st.one_of(inner, junk(max_depth))),
            max_leaves=10,
        )
        .filter(lambda v: isinstance(v, dict))
        .map(
            lambda v: (
                v
                if v.get("resourceType") == "Bundle"
                else {
                    "resourceType": "Bundle",
                    "entry": [{"resource": v}],
                }
            )
        )
    )


def prefetch_values(max_depth: int) -> st.SearchStrategy[Json]:
    """What a client may put under one prefetch key (mostly a Bundle), and what it should not."""
    return weighted(
        (12, bundles(max_depth)),
        (2, resource(max_depth)),
        (1, operation_outcome(max_depth)),
        (1, st.none()),
        (1, scalars()),
        (1, st.lists(resource(max_depth), max_size=3)),
        (1, huge_strings()),
        (1, deep(max_depth)),
    )
