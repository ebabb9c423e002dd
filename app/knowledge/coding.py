"""The one ``Coding`` model: a code from a code system, as FHIR R4 and CDS Hooks 2.0 spell it.

The FHIR adapter's code tables (``app/fhir/codes.py``: synonyms of a finding code) and the CDS
Hooks wire models (``app/cds_hooks/models.py``: a card's ``source.topic``, its
``overrideReasons``, a feedback's reason) share this definition. It sits in the knowledge layer,
below both, so neither imports the other for it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Coding(BaseModel):
    """Spec "Data Types / Coding": ``code`` and ``system`` required; ``display`` is required
    for card ``overrideReasons`` (checked by ``card_rules``), optional elsewhere."""

    # unknown members are kept (CDS Hooks "Extensions"); the code tables reject them
    # (app/fhir/codes.py) so a typo in a data file still stops loading
    model_config = ConfigDict(extra="allow", frozen=True)

    code: str
    system: str
    display: str | None = None
