"""Prometheus metrics on a per-application registry (several apps may live in one process,
as in the tests). Labels are route templates, service ids, card topics and indicators only:
never a raw path, a patient id or anything else from the request."""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from app.json_types import JsonObject

log = logging.getLogger("vcf_cds.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# unmapped codings: label values are capped so a stream of odd codes cannot grow the registry
MAX_UNMAPPED_SYSTEMS = 20
MAX_UNMAPPED_CODES = 200
OTHER = "other"
MAX_BOUND_CHILDREN = 1_000  # label children cached per metric (more are looked up each time)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

DepthFn = Callable[[], float]


def _safe(fn: DepthFn, name: str) -> DepthFn:
    """A scrape must not fail because a depth callback does: report NaN instead."""

    def read() -> float:
        try:
            return float(fn())
        except Exception as exc:
            log.warning("%s callback failed: %s", name, type(exc).__name__)
            return math.nan

    return read


_DROPPED_HELP = "Audit records dropped: queue full while the spool failed (docs/faults.md)"


class _CounterFn(Collector):
    """A counter read from a callback at each scrape (the recorder keeps the count)."""

    def __init__(self, name: str, doc: str, fn: DepthFn) -> None:
        self._name, self._doc, self._fn = name, doc, _safe(fn, name)

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._doc, value=self._fn())


class Metrics:
    """The service's metrics. ``spool_depth`` / ``queue_depth`` are read at each scrape;
    a gauge whose callback is not given is not exported."""

    def __init__(
        self,
        *,
        spool_depth: DepthFn | None = None,
        queue_depth: DepthFn | None = None,
        audit_dropped: DepthFn | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "vcf_cds_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "vcf_cds_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cards = Counter(
            "vcf_cds_cards",
            "CDS Hooks cards returned by service, card topic and indicator",
            ["service", "topic", "indicator"],
            registry=r,
        )
        self.orders = Counter(
            "vcf_cds_orders",
            "Draft orders seen by CDS Hooks services, by rating status",
            ["service", "status"],
            registry=r,
        )
        self.unmapped = Counter(
            "vcf_cds_unmapped_codings",
            "Codings read but mapped to no VCF-CDS input, by system and code (the first "
            f"{MAX_UNMAPPED_CODES} distinct codes, the rest as code={OTHER!r}; more than "
            f"{MAX_UNMAPPED_SYSTEMS} systems as system={OTHER!r})",
            ["system", "code"],
            registry=r,
        )
        self._unmapped_systems: set[str] = set()
        self._unmapped_codes: set[tuple[str, str]] = set()
        # label children bound once per label tuple: ``labels()`` validates and hashes its
        # arguments under a lock on every call; every cache is bounded like its label values
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._card_children: dict[tuple[str, str, str], Any] = {}
        self._order_children: dict[tuple[str, str], Any] = {}
        self._unmapped_children: dict[tuple[str, str], Any] = {}
        if spool_depth is not None:
            Gauge(
                "vcf_cds_audit_spool_depth", "Audit records waiting in the spool", registry=r
            ).set_function(_safe(spool_depth, "spool_depth"))
        if queue_depth is not None:
            Gauge(
                "vcf_cds_audit_queue_depth", "Audit records waiting in memory", registry=r
            ).set_function(_safe(queue_depth, "queue_depth"))
        if audit_dropped is not None:
            r.register(_CounterFn("vcf_cds_audit_entries_dropped", _DROPPED_HELP, audit_dropped))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            method = method if method in _METHODS else "OTHER"  # bounded label values
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(route),
            )
            if len(self._request_children) < MAX_BOUND_CHILDREN:
                self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_decision(
        self,
        service: str,
        response_cards: Sequence[JsonObject],
        order_statuses: Iterable[str],
    ) -> None:
        """Count the cards of one CDS Hooks response (by ``source.topic.code``) and the
        draft orders by status (rated / not_rated). Call only with a known service id."""
        for card in response_cards:
            topic = (card.get("source") or {}).get("topic") or {}
            key = (service, str(topic.get("code") or "none"), str(card.get("indicator", "none")))
            child = self._card_children.get(key)
            if child is None:
                child = self.cards.labels(*key)
                if len(self._card_children) < MAX_BOUND_CHILDREN:
                    self._card_children[key] = child
            child.inc()
        counts = collections.Counter(order_statuses)
        for status, n in counts.items():
            okey = (service, status)
            child = self._order_children.get(okey)
            if child is None:
                child = self.orders.labels(*okey)
                if len(self._order_children) < MAX_BOUND_CHILDREN:
                    self._order_children[okey] = child
            child.inc(n)

    def observe_unmapped(self, codings: Iterable[tuple[str, str]]) -> None:
        """Count unmapped ``(system, code)`` pairs with bounded label cardinality (each
        distinct pair of one call counted once, by its number of occurrences)."""
        for (system, code), n in collections.Counter(codings).items():
            raw = (system, code)
            child = self._unmapped_children.get(raw)
            if child is not None:
                child.inc(n)
                continue
            system, code = system[:200], code[:64]
            if system not in self._unmapped_systems:
                if len(self._unmapped_systems) >= MAX_UNMAPPED_SYSTEMS:
                    system, code = OTHER, OTHER
                else:
                    self._unmapped_systems.add(system)
            if (system, code) not in self._unmapped_codes and code != OTHER:
                if len(self._unmapped_codes) >= MAX_UNMAPPED_CODES:
                    code = OTHER
                else:
                    self._unmapped_codes.add((system, code))
            child = self.unmapped.labels(system, code)
            if len(self._unmapped_children) < MAX_BOUND_CHILDREN:
                self._unmapped_children[raw] = child
            child.inc(n)

    def render(self) -> tuple[bytes, str]:
        """Text exposition body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def app_metrics(app: Any) -> Metrics | None:
    """The :class:`Metrics` of an application (``app.state.metrics``), if wired."""
    m = getattr(getattr(app, "state", None), "metrics", None)
    return m if isinstance(m, Metrics) else None
