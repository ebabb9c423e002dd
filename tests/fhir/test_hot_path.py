"""The hot path never validates with fhir.resources models: reading 60 realistic resources in a
fresh interpreter must not even import ``fhir.resources``."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT
from tests.fhir_builders import CPT, ICD10, condition, obs, patient, procedure, service_request

SCRIPT = """
import json, sys
from app.fhir.adapter import read_resources
resources = json.loads(sys.stdin.read())
pf = read_resources(resources, obtained={"Condition": True, "Procedure": True})
loaded = sorted(m for m in sys.modules if m.startswith("fhir.resources"))
print(json.dumps({"findings": len(pf.findings), "orders": len(pf.orders), "loaded": loaded}))
"""

A_PATIENT = patient()


def realistic() -> list[dict[str, object]]:
    levels = ["T11", "T12", "L1", "L2", "L3"]
    out: list[dict[str, object]] = [A_PATIENT]
    for i, level in enumerate(levels):
        out += [
            obs(f"v{i}", "vcf", level=level, valueBoolean=True),
            obs(f"e{i}", "marrow-edema", level=level, valueBoolean=i % 2 == 0),
            obs(f"a{i}", "adc", level=level, valueQuantity={"value": 1.1, "code": "10*-3.mm2/s"}),
            obs(f"s{i}", "sins-pain", level=level, valueString="mechanical"),
            obs(
                f"h{i}",
                "vertebral-height-loss",
                level=level,
                valueQuantity={"value": 25, "unit": "%"},
            ),
            obs(f"c{i}", "cord-compression", level=level, valueBoolean=False),
            obs(f"g{i}", "escc-grade", level=level, valueString="1b"),
            obs(f"f{i}", "fluid-cleft", level=level, valueBoolean=True),
            obs(f"x{i}", "fever", valueBoolean=False),
        ]
    out += [
        condition(f"k{i}", code, onset=None, status=None, system=ICD10)
        for i, code in enumerate(["C50.911", "M81.0", "I10"])
    ]
    out += [procedure(f"p{i}", code, date=None) for i, code in enumerate(["22513", "99213"])]
    out += [service_request("sr", (CPT, "72158"))]
    while len(out) < 60:
        out.append(obs(f"r{len(out)}", "ecog", valueInteger=1))
    return out


def test_sixty_resources_without_fhir_models() -> None:
    resources = realistic()
    assert len(resources) == 60
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(resources),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["findings"] == 5 * 8 + 2
    assert result["orders"] == 1
