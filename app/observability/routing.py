"""Route template of a request, so logs and metric labels never carry ids from the path."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from weakref import WeakKeyDictionary

import fastapi.routing
from starlette.types import Scope

# FastAPI >= 0.160 keeps included routers nested and lists their effective (full-path) routes
# through iter_route_contexts; older versions flatten app.routes themselves.
_iter_routes: Callable[[Any], Iterable[Any]] = getattr(fastapi.routing, "iter_route_contexts", list)

UNMATCHED = "<unmatched>"  # logged and labelled instead of a raw path, which may hold ids

_Table = list[tuple[re.Pattern[str], str, frozenset[str] | None]]
_tables: WeakKeyDictionary[Any, tuple[int, _Table]] = WeakKeyDictionary()


def _table(app: Any) -> _Table:
    routes = getattr(app, "routes", None)
    if not isinstance(routes, list):
        return []
    cached = _tables.get(app)
    if cached is not None and cached[0] == len(routes):
        return cached[1]
    table: _Table = []
    for route in _iter_routes(routes):
        regex, path = getattr(route, "path_regex", None), getattr(route, "path", None)
        if isinstance(regex, re.Pattern) and isinstance(path, str):
            methods = getattr(route, "methods", None)
            table.append((regex, path, frozenset(methods) if methods else None))
    _tables[app] = (len(routes), table)
    return table


def route_template(scope: Scope) -> str | None:
    """The path template of the app route a request matches (``/cds-services/{service_id}``),
    or None. Matched against the app's full route table, so it also works for requests
    answered before routing (e.g. a 413 from a limit middleware) and for a 405."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        path = path[len(root) :]
    method = scope.get("method", "")
    fallback = None
    for regex, template, methods in _table(scope.get("app")):
        if regex.match(path):
            if methods is None or method in methods:
                return template
            fallback = fallback or template
    return fallback
