"""DiagnosticReport (US Core DiagnosticReport for imaging) -> finding candidates.

Three parts are read, each optional:
- ``result``: references to Observations. One in the same input is read as an Observation
  anyway (once); a contained one (``#id``) is read here as Observations are read; any other is
  reported as not read.
- ``conclusionCode``: a code of the Condition maps (a documented VCF, etiology, malignancy...)
  counts as that Condition would; a finding code or its synonym gives that boolean finding.
- the narrative: ``conclusion`` and ``presentedForm`` with contentType text/plain (base64
  ``data``, at most ``MAX_NARRATIVE_CHARS`` read) go through the extractor of
  ``app.fhir.narrative``. Each such candidate is marked ``from_text`` and its source quotes the
  sentence: ``DiagnosticReport/r1.conclusion (read from report text: "No retropulsion.")``.

Text never outranks a coded value (``without_outranked_text``). Nothing here raises on input:
problems become ``InputIssue``s.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from app.clinical.findings import InputIssue
from app.fhir.codes import code_tables
from app.fhir.history import HistorySources, condition_effects, read_condition
from app.fhir.observations import Candidate, effective_time, finding_code, read_observation
from app.fhir.raw import codings, objs, text
from app.json_types import JsonObject

USED_STATUSES = frozenset({"final", "amended", "corrected", "appended", "preliminary"})
MAX_NARRATIVE_CHARS = 20_000  # per narrative part; a longer text is read up to this length
MAX_PRESENTED_FORMS = 5
MAX_RESULTS = 200
MAX_NARRATIVE_REPORTS = 50  # per read: reports after these are read without their narrative
QUOTE_CHARS = 200
TEXT_MARK = "read from report text"
Severity = Literal["error", "warning", "information"]
_REFERENCE = re.compile(r"(?:^|/)Observation/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


@lru_cache(maxsize=1)
def text_codes() -> dict[str, str]:
    """Extractor kind -> project finding code (narrative/data/targets.json)."""
    from app.fhir.narrative.engine import DATA

    data = json.loads((DATA / "targets.json").read_text(encoding="utf-8"))
    codes: dict[str, str] = data["finding_codes"]
    known = code_tables().findings.by_code()
    unknown = sorted(code for code in codes.values() if code not in known)
    if unknown:  # checked at start-up (the warm-up reads a narrative)
        raise ValueError(f"narrative/data/targets.json: unknown finding codes {unknown}")
    return codes


@dataclass
class NarrativeBudget:
    """Narratives still to be read in one ``read_resources`` call."""

    reports_left: int = MAX_NARRATIVE_REPORTS


def quote(sentence: str) -> str:
    """The sentence as it can stand in a source string and a Markdown table cell (no quote,
    pipe, backtick, backslash, asterisk or angle bracket that a card renderer would act on)."""
    flat = " ".join(sentence.split())
    for bad, good in (
        ('"', "'"),
        ("|", "/"),
        ("`", "'"),
        ("\\", "/"),
        ("*", ""),
        ("<", "‹"),
        (">", "›"),
    ):
        flat = flat.replace(bad, good)
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1] + "…"


def text_source(where: str, sentence: str) -> str:
    return f'{where} ({TEXT_MARK}: "{quote(sentence)}")'


class _Report:
    def __init__(
        self,
        resource: JsonObject,
        label: str,
        known: frozenset[str],
        history: HistorySources,
        issues: list[InputIssue],
        budget: NarrativeBudget,
    ) -> None:
        self.budget = budget
        self.resource = resource
        self.label = label
        self.known = known
        self.history = history
        self.issues = issues
        self.out: list[Candidate] = []
        self.effective: datetime | None = None

    def note(self, severity: Severity, where: str, message: str) -> None:
        self.issues.append(InputIssue(severity, where, message))

    def read(self) -> list[Candidate]:
        status = text(self.resource, "status", 40)
        if status not in USED_STATUSES:
            shown = status if status is not None else "missing"
            self.note("information", f"{self.label}.status", f"status {shown}: not used")
            return []
        self.effective = effective_time(self.resource, self.label, self.issues)
        self.results()
        self.conclusion_codes()
        self.narrative()
        return self.out

    def objects(self, key: str) -> list[JsonObject]:
        """``objs(resource, key)``, reporting a value that is not a list of objects."""
        value = self.resource.get(key)
        if value is not None and not isinstance(value, list):
            self.note("error", f"{self.label}.{key}", "not a list; ignored")
        elif isinstance(value, list) and not all(isinstance(v, dict) for v in value):
            self.note("warning", f"{self.label}.{key}", "entries that are not objects; skipped")
        return objs(self.resource, key)

    # --- result ---------------------------------------------------------------------------

    def results(self) -> None:
        raw = self.resource.get("result")
        if raw is not None and not isinstance(raw, list):
            self.note("error", f"{self.label}.result", "not a list; ignored")
            return
        contained = {
            rid: c
            for c in objs(self.resource, "contained")
            if (rid := text(c, "id", 64)) is not None
        }
        for i, ref in enumerate((raw or [])[:MAX_RESULTS]):
            where = f"{self.label}.result[{i}]"
            target = text(ref, "reference", 512) if isinstance(ref, dict) else None
            if target is None:
                self.note("warning", where, "no reference; ignored")
            elif target.startswith("#"):
                self.contained(contained.get(target[1:]), target[1:], where)
            elif (m := _REFERENCE.search(target)) is None:
                self.note("information", where, "not a reference to an Observation; ignored")
            elif f"Observation/{m.group(1)}" not in self.known:
                message = f"Observation/{m.group(1)} is not in the input; not read"
                self.note("information", where, message)
            # else: the Observation is in the input and is read there, once

    def contained(self, resource: JsonObject | None, rid: str, where: str) -> None:
        if resource is None or text(resource, "resourceType", 64) != "Observation":
            self.note("warning", where, f"no contained Observation #{rid}; ignored")
            return
        candidates, found = read_observation(resource, f"{self.label}#{rid}")
        self.issues.extend(found)
        for c in candidates:
            if c.effective is None:  # a contained result takes the report's time
                c.effective = self.effective
            self.out.append(c)

    # --- conclusionCode -------------------------------------------------------------------

    def conclusion_codes(self) -> None:
        findings = code_tables().findings.by_code()
        for i, concept in enumerate(self.objects("conclusionCode")):
            where = f"{self.label}.conclusionCode[{i}]"
            used = False
            if condition_effects(concept):
                as_condition: JsonObject = {"code": concept}
                if self.effective is not None:
                    as_condition["recordedDate"] = self.effective.isoformat()
                read_condition(as_condition, where, self.history, self.issues)
                used = True
            code = finding_code(concept)
            if code is not None and findings[code].type == "boolean":
                self.out.append(Candidate(code, True, where, None, None, self.effective))
                used = True
            if not used:
                first = next(iter(codings(concept)), None)
                shown = f"{first[0] or '(no system)'}|{first[1]}"[:100] if first else "no coding"
                self.note("information", where, f"no mapped code ({shown}); ignored")

    # --- narrative ------------------------------------------------------------------------

    def narrative(self) -> None:
        parts: list[tuple[str, str]] = []
        conclusion = self.resource.get("conclusion")
        if isinstance(conclusion, str) and conclusion.strip():
            parts.append((f"{self.label}.conclusion", self.capped(conclusion, "conclusion")))
        elif conclusion is not None and not isinstance(conclusion, str):
            self.note("error", f"{self.label}.conclusion", "not a string; ignored")
        for i, form in enumerate(self.objects("presentedForm")[:MAX_PRESENTED_FORMS]):
            found = self.presented(form, f"{self.label}.presentedForm[{i}]")
            if found is not None:
                parts.append(found)
        if parts and self.budget.reports_left <= 0:
            message = f"more than {MAX_NARRATIVE_REPORTS} reports with narrative; text not read"
            self.note("warning", parts[0][0], message)
        elif parts:
            self.budget.reports_left -= 1
            self.extract(parts)

    def capped(self, value: str, where: str) -> str:
        if len(value) <= MAX_NARRATIVE_CHARS:
            return value
        message = f"longer than {MAX_NARRATIVE_CHARS} characters; only the start is read"
        self.note("warning", f"{self.label}.{where}", message)
        return value[:MAX_NARRATIVE_CHARS]

    def presented(self, form: JsonObject, where: str) -> tuple[str, str] | None:
        content_type = (text(form, "contentType", 128) or "").split(";")[0].strip().lower()
        if content_type != "text/plain":
            shown = content_type or "none"
            self.note("information", where, f"contentType {shown}: only text/plain is read")
            return None
        data = form.get("data")
        if not isinstance(data, str):
            message = "no inline data (url is not fetched); not read"
            self.note("information", where, message)
            return None
        limit = (MAX_NARRATIVE_CHARS * 4 // 3 + 4) // 4 * 4  # base64 of the cap, 4-aligned
        truncated = len(data) > limit
        try:
            raw = base64.b64decode(data[:limit] if truncated else data, validate=True)
        except (binascii.Error, ValueError):
            self.note("error", f"{where}.data", "not valid base64; not read")
            return None
        decoded = raw.decode("utf-8", errors="replace")
        if truncated:
            message = f"longer than {MAX_NARRATIVE_CHARS} characters; only the start is read"
            self.note("warning", f"{where}.data", message)
        return (where, decoded[:MAX_NARRATIVE_CHARS]) if decoded.strip() else None

    def extract(self, parts: list[tuple[str, str]]) -> None:
        try:
            from app.fhir.narrative.extract import extract_cached
        except ImportError:  # the NLP libraries are not installed
            message = "narrative not read: the text extractor is not available"
            self.note("warning", parts[0][0], message)
            return
        read = [(where, f) for where, body in parts for f in extract_cached(body)]
        fractures = {lv for _, f in read if f.kind == "fracture" and f.value for lv in f.levels}
        only = next(iter(fractures)) if len(fractures) == 1 else None
        by_key: dict[tuple[str, str | None], Candidate] = {}
        codes = text_codes()
        specs = code_tables().findings.by_code()
        for where, f in read:
            code = codes.get(f.kind)
            if code is None or (f.kind == "posterior_element" and not f.pedicle):
                continue
            spec = specs[code]
            value: bool | float | None = f.value
            unit = None
            if spec.type == "quantity":  # height loss: only a stated percentage
                if f.value is not True or f.percent is None:
                    continue
                value, unit = f.percent, "%"
            levels: tuple[str | None, ...] = (None,)
            if spec.per_level:
                levels = f.levels or (only,)
            for level in levels:
                if level is not None and spec.levels is not None and level not in spec.levels:
                    continue
                source = text_source(where, f.sentence)
                key = (code, level)
                agreed = value
                before = by_key.get(key)
                if before is not None:  # the same finding in two sentences of this report
                    agreed = _agree(before.value, value)
                    source = before.source
                by_key[key] = Candidate(
                    code, agreed, source, level, unit, self.effective, from_text=True
                )
        self.out.extend(by_key.values())


def _agree(a: object, b: object) -> Any:
    """Two sentences of one report about one finding: equal values stand; a known value beats
    an uncertain one; a contradiction is unknown."""
    if a == b or b is None:
        return a
    if a is None:
        return b
    return None


def read_report(
    resource: JsonObject,
    label: str,
    known: frozenset[str],
    history: HistorySources,
    issues: list[InputIssue],
    budget: NarrativeBudget | None = None,
) -> list[Candidate]:
    """Candidates of one DiagnosticReport; Condition-like conclusion codes go to ``history``.
    ``known``: the labels ("Observation/x") of every resource in the input; ``budget``: the
    narratives the whole read may still extract."""
    budget = budget if budget is not None else NarrativeBudget()
    return _Report(resource, label, known, history, issues, budget).read()


def without_outranked_text(
    candidates: list[Candidate], issues: list[InputIssue]
) -> list[Candidate]:
    """Drop report-text candidates that a coded value outranks, whatever the dates: a coded
    known value of the same finding at the same level, at no level, or (for text without a
    level) at any level."""
    if not any(c.from_text for c in candidates):
        return candidates
    coded = {(c.code, c.level) for c in candidates if not c.from_text and c.value is not None}
    coded_codes = {code for code, _ in coded}
    kept: list[Candidate] = []
    noted: set[tuple[str, str | None]] = set()
    for c in candidates:
        outranked = c.from_text and (
            (c.code, c.level) in coded
            or (c.code, None) in coded
            or (c.level is None and c.code in coded_codes)
        )
        if not outranked:
            kept.append(c)
        elif (c.code, c.level) not in noted:
            noted.add((c.code, c.level))
            at = f" at {c.level}" if c.level else ""
            message = f"{c.code}{at} read from report text; a coded value is used instead"
            issues.append(InputIssue("information", c.source.split(" (", 1)[0], message))
    return kept
