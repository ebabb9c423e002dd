"""The medspaCy pipeline: targets (finding words) and their assertion in each sentence.

``spacy.blank("en")`` + spaCy's rule sentencizer + medspaCy's ``TargetMatcher`` (the patterns of
``data/targets.json``) + medspaCy's ``ConText`` (its default rules, from Chapman et al., J Biomed
Inform 2007, plus ``data/context_rules.json``). No model is downloaded. The pipeline is built
once (``pipeline()``; the start-up warm-up calls it) and guarded by a lock, so extraction is
pure and synchronous and can run in any thread.

Two assertion methods share the targets: ``"context"`` (medspaCy ConText, the one used) and
``"regex"`` (hand-made NegEx-style cue patterns, kept to measure the library against; see
docs/narrative-extraction.md).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.fhir.narrative import negex
from app.json_types import JsonObject

if TYPE_CHECKING:
    from spacy.language import Language

DATA = Path(__file__).parent / "data"
Status = Literal["present", "absent", "uncertain", "hypothetical"]
Method = Literal["context", "regex"]
_UNSET = "unset"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Mention:
    """One finding word in one sentence, with its assertion."""

    kind: str  # "fracture", "retropulsion"... (targets.json)
    text: str  # the matched words
    start: int  # character offsets in the narrative
    end: int
    sentence: str
    sentence_start: int
    status: Status
    fixed: bool | str | None  # a value the rule itself states (acuity words), else "unset"
    following: tuple[str, ...]  # the next few words (lower case), for kind-specific checks


def _targets() -> JsonObject:
    data: JsonObject = json.loads((DATA / "targets.json").read_text(encoding="utf-8"))
    return data


def _resolve(pattern: Any, variables: dict[str, list[str]]) -> Any:
    """``"@name"`` in a pattern -> the top-level ``name`` (a word list) of targets.json."""
    if isinstance(pattern, str) and pattern.startswith("@"):
        return variables[pattern[1:]]
    if isinstance(pattern, list):
        return [_resolve(p, variables) for p in pattern]
    if isinstance(pattern, dict):
        return {k: _resolve(v, variables) for k, v in pattern.items()}
    return pattern


@lru_cache(maxsize=1)
def pipeline() -> Language:
    """Build the spaCy/medspaCy pipeline once (slow: imports spaCy; seconds)."""
    import medspacy  # noqa: F401  (registers the medspacy_* factories)
    import spacy
    from medspacy.context import ConTextRule
    from medspacy.target_matcher import TargetRule

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer", config={"punct_chars": [".", "!", "?", ";"]})
    matcher: Any = nlp.add_pipe("medspacy_target_matcher")
    context: Any = nlp.add_pipe("medspacy_context", config={"rules": "default"})
    data = _targets()
    variables = {k: v for k, v in data.items() if k.endswith("_modifiers")}
    rules = []
    for i, rule in enumerate(data["rules"]):
        meta = {"fixed": rule.get("value", _UNSET), "index": i}
        pattern = _resolve(rule["pattern"], variables)
        rules.append(TargetRule(rule["literal"], rule["kind"], pattern=pattern, metadata=meta))
    matcher.add(rules)
    extra = json.loads((DATA / "context_rules.json").read_text(encoding="utf-8"))
    context.add([ConTextRule.from_dict(r) for r in extra["context_rules"]])
    return nlp


def _context_status(ent: Any) -> Status:
    if ent._.is_hypothetical or ent._.is_family:
        return "hypothetical"
    if ent._.is_uncertain:  # "cannot exclude" may also carry a negation cue
        return "uncertain"
    if ent._.is_negated:
        return "absent"
    return "present"


def mentions(text: str, method: Method = "context") -> list[Mention]:
    """Every target in ``text`` with its assertion (pure; thread-safe)."""
    nlp = pipeline()
    with _LOCK:
        doc = nlp.make_doc(text)
        for name, component in nlp.pipeline:
            if name == "medspacy_context" and (method != "context" or not doc.ents):
                continue  # ConText is the costly step: only where there is something to assert
            doc = component(doc)
        out = []
        for ent in doc.ents:
            sent = ent.sent
            if method == "context":
                status = _context_status(ent)
            else:
                before = doc.text[sent.start_char : ent.start_char]
                after = doc.text[ent.end_char : sent.end_char]
                status = negex.status(before, after)
            meta = getattr(ent._, "target_rule", None)
            fixed = meta.metadata.get("fixed", _UNSET) if meta is not None else _UNSET
            following = tuple(t.lower_ for t in doc[ent.end : min(ent.end + 6, sent.end)])
            out.append(
                Mention(
                    kind=ent.label_,
                    text=ent.text,
                    start=ent.start_char,
                    end=ent.end_char,
                    sentence=sent.text.strip(),
                    sentence_start=sent.start_char,
                    status=status,
                    fixed=fixed,
                    following=following,
                )
            )
    return out
