"""The JSON shapes at the service's edges.

``JsonObject`` is a JSON object exactly as it crosses the boundary: a request or response body,
a FHIR resource as the EHR or FHIR server sent it, JWT claims, a JSON database column, a data
file before its schema validates it. Code inside the edge reads typed models instead;
``tests/test_json_edges.py`` keeps the alias to the modules that are edges.
"""

from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object as received or sent, before (or after) a typed model takes over."""
