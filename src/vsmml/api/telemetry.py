"""Prometheus metrics of one app: requests and latency per route, ingest outcomes, model, store.

Each app has its own registry (tests start several apps in one process); `/metrics` renders it
in the Prometheus text format. Store figures are read when scraped, from a cursor of the
served store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from vsmml.pipeline.ingest import IngestReport
    from vsmml.pipeline.service_state import Service

LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


class _StoreCollector(Collector):
    """Store size and row counts, read at scrape time."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.service.closed:
            return
        path = self.service.settings.store_path
        size = sum(
            p.stat().st_size for p in (path, path.with_name(path.name + ".wal")) if p.exists()
        )
        yield GaugeMetricFamily("vsmml_store_bytes", "Size of the store file and its WAL.", size)
        rows = GaugeMetricFamily("vsmml_store_rows", "Rows per store table.", labels=["table"])
        with self.service.reader() as store:
            for table, n in store.counts().items():
                rows.add_metric([table], n)
        yield rows


class Telemetry:
    """The app's metrics and how routes record into them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "vsmml_http_requests", "HTTP requests answered.", ["method", "route", "status"],
            registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "vsmml_http_request_duration_seconds", "Time to answer, per route.",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.ingested = Counter(
            "vsmml_ingest_records", "Ingested records by outcome.", ["source", "outcome"],
            registry=r,
        )  # fmt: skip
        self.model = Gauge(
            "vsmml_model_info", "The model in use (value 1).", ["name", "version", "source"],
            registry=r,
        )  # fmt: skip
        ProcessCollector(registry=r)
        self._store: _StoreCollector | None = None

    def attach(self, service: Service) -> None:
        """Report on this service: its model and its store (at start-up)."""
        self.set_model(service)
        if self._store is not None:
            self.registry.unregister(self._store)
        self._store = _StoreCollector(service)
        self.registry.register(self._store)

    def set_model(self, service: Service) -> None:
        """Show the model the service scores with (after start and each reload)."""
        self.model.clear()
        loc = service.model.location
        self.model.labels(loc.name, loc.version, loc.source).set(1)

    def count_ingest(self, report: IngestReport) -> None:
        """Add one ingest's outcomes."""
        src = report.source
        for outcome, n in (
            ("accepted", report.accepted),
            ("duplicate", report.duplicates),
            ("quarantined", report.quarantined),
            ("skipped", sum(report.skipped.values())),
        ):
            if n:
                self.ingested.labels(src, outcome).inc(n)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
