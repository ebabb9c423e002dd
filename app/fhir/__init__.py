"""FHIR layer: reads FHIR R4 JSON into ``app.clinical.findings`` types and serves the
project's CodeSystems (contract: ``shared/spec/fhir-input.md``; page: ``docs/fhir-inputs.md``).

Public API: ``app.fhir.adapter.read_resources`` / ``unpack`` (hot path, raw JSON, no R4B
validation), ``app.fhir.codesystems.get_code_system`` (R4B-built CodeSystems),
``app.fhir.warmup.warm_up`` and ``app.fhir.codes.code_tables``.
"""
