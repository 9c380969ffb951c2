"""What a running `vsmml serve` holds: the store it owns, its tokens and the loaded risk model.

DuckDB allows one writing process per file, so the server opens the store once, read-write, for
its whole life. Writes (ingest, tokens) take `Service.writing` one at a time on that connection;
reads get their own DuckDB cursor of the same database (`open_for_reading`), so a metrics query
runs beside a long ingest, on the last committed state, instead of waiting for it. Every
committed write bumps `Service.generation`, which keys the read caches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from vsmml.config import Settings, get_settings
from vsmml.errors import StoreError
from vsmml.models.risk_scoring import RiskScorer
from vsmml.models.treeeval import TreeEnsemble, TreeModelError
from vsmml.models.treefast import TableTrees
from vsmml.pipeline.models import ModelLocation, load_risk_scorer
from vsmml.pipeline.tokens import TokenBook

if TYPE_CHECKING:
    from vsmml.store import Store

__all__ = [
    "LoadedModel",
    "Service",
    "on_startup_failure",
    "record_startup_failure",
    "startup_failure",
]

T = TypeVar("T")


@dataclass(frozen=True)
class LoadedModel:
    """The risk model the server scores with, and where it came from."""

    scorer: RiskScorer
    location: ModelLocation
    loaded_at: float

    @cached_property
    def key(self) -> str:
        """Names this load for remembered answers (an object id could be reused after a
        reload); built once, as every score request reads it."""
        loc = self.location
        return f"{loc.path}|{loc.version}|{self.loaded_at!r}"

    @cached_property
    def inputs(self) -> frozenset[str]:
        """The model's input names, as a set (every score request tests records against it)."""
        return frozenset(self.scorer.input_columns)


class Service:
    """The server's state: settings, the owned store, the token book and the risk model."""

    def __init__(self, settings: Settings, store: Store, model: LoadedModel) -> None:
        self.settings = settings
        self.store = store
        self.tokens = TokenBook.load(store)
        self.started_at = time.time()
        self._model = model
        self._write_lock = threading.Lock()
        self._cursor_lock = threading.Lock()
        self._generation = 0
        self._closed = False
        self._caches: dict[str, tuple[int, Any]] = {}

    @classmethod
    def open(cls, settings: Settings | None = None) -> Service:
        """Open the store read-write and load the risk model (champion, else the default).

        Raises `StoreLockedError` when another process holds the store, `ModelNotFoundError`
        when no model can be found.
        """
        from vsmml.pipeline.service_store import serve
        from vsmml.store import Store

        s = settings or get_settings()
        model = _load(s)
        store = Store.from_settings(s)
        service = cls(s, store, model)
        serve(s.store_path, service.reader)
        return service

    def close(self) -> None:
        """Write pending token uses and close the store (idempotent)."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            from vsmml.pipeline.service_store import unserve

            unserve(self.settings.store_path)
            try:
                self.tokens.flush(self.store)
            finally:
                self.store.close()

    @property
    def closed(self) -> bool:
        """True once `close` ran."""
        return self._closed

    # -- writes -----------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[Store]:
        """The store, for one writer at a time; the generation moves on when the block ends."""
        with self._write_lock:
            if self._closed:
                raise StoreError("the server is shutting down; the store is closed")
            try:
                yield self.store
            finally:
                self._generation += 1

    @property
    def generation(self) -> int:
        """How many writes have been committed since the server started."""
        return self._generation

    def flush_token_uses(self) -> int:
        """Write the tokens' last uses to the store (the server calls this now and then)."""
        with self._write_lock:
            if self._closed:
                return 0
            return self.tokens.flush(self.store)

    # -- reads ------------------------------------------------------------------------------
    def reader(self) -> Store:
        """A read-only `Store` on its own cursor (close it after use)."""
        from vsmml.pipeline.service_store import CursorStore

        with self._cursor_lock:
            return CursorStore(self.store, self.store.connection.cursor())

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()`, remembered until the next write (reads of the same state share it)."""
        generation = self._generation
        hit = self._caches.get(key)
        if hit is not None and hit[0] == generation:
            value: T = hit[1]
            return value
        value = compute()
        if len(self._caches) > 256:
            self._caches.clear()
        self._caches[key] = (generation, value)
        return value

    # -- the model --------------------------------------------------------------------------
    @property
    def model(self) -> LoadedModel:
        """The risk model in use."""
        return self._model

    def reload_model(self) -> tuple[LoadedModel, LoadedModel]:
        """Locate and load the risk model again (a newly promoted champion); (before, after)."""
        before = self._model
        self._model = _load(self.settings)
        return before, self._model


def _load(settings: Settings) -> LoadedModel:
    """The risk model with its trees compiled (`TableTrees`: TreeSHAP from leaf tables, ~8x
    LightGBM's pred_contrib); a model too deep for the tables is explained by LightGBM."""
    scorer, location = load_risk_scorer(settings=settings)
    if isinstance(scorer.trees, TreeEnsemble):
        try:
            scorer.trees = TableTrees(scorer.trees)
        except TreeModelError:
            scorer, _ = load_risk_scorer(path=location.path, native=True)
    return LoadedModel(scorer, location, time.time())


_STARTUP_FAILURE: list[BaseException] = []
_STOP_HOOKS: list[Callable[[], None]] = []


def on_startup_failure(stop: Callable[[], None]) -> None:
    """Call `stop` when the server cannot start (`vsmml serve` stops uvicorn with it)."""
    _STOP_HOOKS.append(stop)


def record_startup_failure(exc: BaseException) -> None:
    """Remember why the server could not start and stop it, when someone asked to."""
    _STARTUP_FAILURE.append(exc)
    for stop in _STOP_HOOKS:
        stop()


def startup_failure() -> BaseException | None:
    """Why the server of this process could not start, if it could not."""
    return _STARTUP_FAILURE[-1] if _STARTUP_FAILURE else None
