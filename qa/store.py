"""The knowledge base in ChromaDB, embedded (`PersistentClient`) or on a server (`HttpClient`).

A knowledge base is a series of generations (collections `<name>-g<N>`); a small registry
collection (`<name>-registry`) names the one that is live. A write builds the next generation
beside the live one (copying the vectors it keeps, embedding only new content) and then switches
the registry in one step, so a failed or interrupted write leaves the previous knowledge base
whole. Each generation records its embedding model and dimension. Writers take a lock file;
a second writer fails at once instead of waiting (on a Chroma server, also a lock collection held on
the server, so that writers on other machines are excluded too: `qa.server_lock`).

The registry also records how many vectors the live generation holds, and a marker file in the data
folder records that an index was written there; `verify()` uses both to tell a missing or damaged
index, at start, from one that was never built.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.config import Settings
from qa.server_lock import ServerLock, ServerLockBusy

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

READ_BATCH = 2000
VERIFY_SAMPLE = 10


class StoreError(RuntimeError):
    """The index cannot be used as asked; the message says what to do."""


class EmbeddingMismatchError(StoreError):
    """The index was built with another embedding model than the configured one."""


class StoreBusyError(StoreError):
    """Another process is writing to the index."""


class StoreDamagedError(StoreError):
    """The index is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Record:
    """A stored vector's id, text and metadata (and embedding when asked for)."""

    id: str
    document: str
    metadata: dict[str, Any]
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class Match:
    """A stored vector found by a query, with its cosine similarity."""

    id: str
    document: str
    metadata: dict[str, Any]
    similarity: float


class KnowledgeStore:
    """Reads and writes one knowledge base in Chroma."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.store.collection
        self._live_cache: tuple[str, Collection] | None = None

    @cached_property
    def client(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        store = self.settings.store
        if store.mode == "http":
            try:
                return chromadb.HttpClient(host=store.host, port=store.port, settings=chroma_settings)
            except Exception as error:  # chromadb raises plain exceptions for connection errors
                raise StoreError(f"cannot reach the Chroma server at {store.host}:{store.port}: {error}") from error
        self.chroma_path.mkdir(parents=True, exist_ok=True)
        with self._chroma_errors():
            return chromadb.PersistentClient(path=str(self.chroma_path), settings=chroma_settings)

    @property
    def chroma_path(self) -> Path:
        return self.settings.data_dir / "chroma"

    # -- reading -------------------------------------------------------------------------------

    def live(self) -> Collection | None:
        """The live generation, or None when nothing was ever loaded."""
        name = self._registry_state().get("live")
        if not name:
            return None
        if self._live_cache and self._live_cache[0] == name:
            return self._live_cache[1]
        try:
            collection = self.client.get_collection(name, embedding_function=None)
        except Exception as error:
            raise StoreError(
                f"the index at {self.location} names generation '{name}', which is missing: "
                f"the index is damaged; rebuild it with `qa ingest --rebuild PATH` or delete {self.location}"
            ) from error
        self._live_cache = (name, collection)
        return collection

    @property
    def location(self) -> str:
        store = self.settings.store
        return f"{store.host}:{store.port}" if store.mode == "http" else str(self.chroma_path)

    def model(self) -> tuple[str, int] | None:
        """The embedding model and dimension the live generation was built with."""
        collection = self.live()
        if collection is None:
            return None
        meta = collection.metadata or {}
        return str(meta.get("embedding_model")), int(meta.get("dimension", 0))

    def check_model(self, model_id: str, dimension: int) -> None:
        """Raise EmbeddingMismatchError when the index was built with another model."""
        recorded = self.model()
        if recorded and recorded != (model_id, dimension):
            raise EmbeddingMismatchError(
                f"the index was built with the embedding model '{recorded[0]}' ({recorded[1]} dimensions) "
                f"but the config uses '{model_id}' ({dimension} dimensions); "
                "re-embed everything with `qa ingest --rebuild` or point the config back at the old model"
            )

    def count(self) -> int:
        collection = self.live()
        with self._chroma_errors():
            return collection.count() if collection is not None else 0

    def verify(self, allow_missing: bool = False) -> None:
        """At start: StoreDamagedError, saying what to do, when the index is missing or damaged.

        Damaged: Chroma cannot read it, the live generation holds another number of vectors than
        was written, or its vector index does not return what is stored. Missing: the marker says an
        index was written here but the store has none (`allow_missing` for a writer that rebuilds it).
        """
        collection = self.live()
        if collection is None:
            if self._was_written() and not allow_missing:
                raise StoreDamagedError(
                    f"the knowledge base index at {self.location} is missing (an index was written there, "
                    f"see {self._marker}); restore it from a backup, or load the knowledge base again "
                    "with `qa ingest PATH`"
                )
            return
        with self._chroma_errors():
            count = collection.count()
            written = self._registry_state().get("count")
            if written is not None and count != int(written):
                raise StoreDamagedError(self._damaged(f"it holds {count} vectors, {written} were written"))
            if count:
                sample = collection.get(limit=1, include=["embeddings"])
                wanted = min(count, VERIFY_SAMPLE)
                found = collection.query(query_embeddings=sample["embeddings"], n_results=wanted, include=[])
                if len(found["ids"][0]) != wanted:
                    raise StoreDamagedError(self._damaged("its vector index returns fewer vectors than it holds"))

    def query(self, vector: np.ndarray, n_results: int, where: dict[str, Any] | None = None) -> list[Match]:
        """The `n_results` stored vectors nearest to `vector`, nearest first."""
        collection = self.live()
        if collection is None:
            return []
        with self._chroma_errors():
            n_results = min(n_results, collection.count())
            if n_results == 0:
                return []
            result = collection.query(
                query_embeddings=np.asarray([vector], dtype=np.float32),
                n_results=n_results,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        return [
            Match(id_, document or "", dict(metadata or {}), 1.0 - float(distance))
            for id_, document, metadata, distance in zip(
                result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
            )
        ]

    def generation(self) -> str | None:
        """The name of the live generation (every write makes a new one), or None."""
        collection = self.live()
        return collection.name if collection is not None else None

    def sample_records(self, limit: int) -> list[Record]:
        """Up to `limit` records of the live generation, with their embeddings, spread evenly over it."""
        step = max(1, -(-self.count() // max(limit, 1)))
        return [record for index, record in enumerate(self.records(with_embeddings=True)) if index % step == 0]

    def records(self, with_embeddings: bool = False, where: dict[str, Any] | None = None) -> Iterator[Record]:
        """Every stored vector of the live generation (in batches)."""
        collection = self.live()
        if collection is None:
            return
        with self._chroma_errors():
            yield from _records(collection, with_embeddings, where)

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def writer(self) -> Iterator[GenerationWriter]:
        """Exclusive write access; fails at once when another process writes."""
        with self._lock(), self._server_lock() as server_lock:
            self.verify(allow_missing=True)
            self._drop_orphans()
            yield GenerationWriter(self, server_lock)

    @contextmanager
    def _server_lock(self) -> Iterator[ServerLock | None]:
        """On a Chroma server, the lock that also excludes writers on other machines."""
        if self.settings.store.mode != "http":
            yield None
            return
        lock = ServerLock(self.client, self.name)
        try:
            lock.acquire()
        except ServerLockBusy as busy:
            raise StoreBusyError(
                f"the knowledge base '{self.name}' on {self.location} is being written by {busy}; "
                "try again when it has finished"
            ) from busy
        try:
            yield lock
        finally:
            lock.release()

    @contextmanager
    def _chroma_errors(self) -> Iterator[None]:
        """Chroma's own errors become a StoreDamagedError (embedded) or a server error (http)."""
        try:
            yield
        except (StoreError, KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as error:  # Chroma's Rust core panics with pyo3's PanicException, a BaseException
            detail = " ".join(str(error).split())[:300] or type(error).__name__
            if self.settings.store.mode == "http":
                raise StoreError(
                    f"the Chroma server at {self.location} failed: {detail}; check that it runs and read its log"
                ) from error
            raise StoreDamagedError(self._damaged(detail)) from error

    def _damaged(self, detail: str) -> str:
        if self.settings.store.mode == "http":
            repair = f"restore the server's data from a backup, or delete the collections '{self.name}-*' there"
        else:
            repair = f"restore {self.chroma_path} from a backup, or delete it"
        return (
            f"the knowledge base index at {self.location} is damaged ({detail}); "
            f"{repair} and load the knowledge base again with `qa ingest PATH`"
        )

    @property
    def _marker(self) -> Path:
        """A file in the data folder that says an index was written to this location."""
        return self.settings.data_dir / f"{self.name}.index.json"

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.settings.data_dir / f"{self.name}.write.lock"
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise StoreBusyError(
                    f"the knowledge base '{self.name}' is being written by {holder}; try again when it has finished"
                ) from error
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()}")
            handle.flush()
            try:
                yield
            finally:
                handle.truncate(0)
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _registry(self) -> Collection:
        with self._chroma_errors():
            return self.client.get_or_create_collection(f"{self.name}-registry", embedding_function=None)

    def _registry_state(self) -> dict[str, Any]:
        """The live generation's name and vector count, as the last writer recorded them."""
        with self._chroma_errors():
            return dict(self._registry().metadata or {})

    def _generations(self) -> list[str]:
        pattern = re.compile(rf"^{re.escape(self.name)}-g(\d+)$")
        names = [c if isinstance(c, str) else c.name for c in self.client.list_collections()]
        return sorted((n for n in names if pattern.match(n)), key=lambda n: int(pattern.match(n).group(1)))

    def _drop_orphans(self) -> None:
        """Remove generations that are not live (left by an interrupted write)."""
        live = (self._registry().metadata or {}).get("live")
        for name in self._generations():
            if name != live:
                self.client.delete_collection(name)

    def _publish(self, collection: Collection) -> None:
        registry = self._registry()
        old = (registry.metadata or {}).get("live")
        registry.modify(metadata={"live": collection.name, "count": collection.count(), "published": time.time()})
        self._live_cache = None
        self._write_marker(collection.name)
        if old and old != collection.name:
            self.client.delete_collection(old)

    @property
    def _marker_location(self) -> str:
        """`embedded` (the Chroma folder beside the marker, wherever the data folder moves) or the server."""
        return self.location if self.settings.store.mode == "http" else "embedded"

    def _was_written(self) -> bool:
        """Whether the marker says that an index was written to this location."""
        try:
            return json.loads(self._marker.read_text(encoding="utf-8")).get("location") == self._marker_location
        except (OSError, ValueError, AttributeError):
            return False

    def _write_marker(self, generation: str) -> None:
        temporary = self._marker.with_suffix(".tmp")
        marker = {"location": self._marker_location, "collection": self.name, "live": generation}
        temporary.write_text(json.dumps(marker))
        os.replace(temporary, self._marker)


class GenerationWriter:
    """Builds the next generation of a knowledge base and switches to it."""

    def __init__(self, store: KnowledgeStore, server_lock: ServerLock | None = None) -> None:
        self.store = store
        self.server_lock = server_lock

    def create(self, model_id: str, dimension: int) -> Collection:
        """A new, empty generation recording its embedding model."""
        generations = self.store._generations()
        number = int(generations[-1].rsplit("-g", 1)[1]) + 1 if generations else 1
        return self.store.client.create_collection(
            f"{self.store.name}-g{number:06d}",
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model_id, "dimension": dimension},
            embedding_function=None,
        )

    def add(self, collection: Collection, records: Sequence[Record]) -> None:
        """Add records with their embeddings, in batches Chroma accepts."""
        batch = max(1, min(self.store.client.get_max_batch_size(), 5000))
        for start in range(0, len(records), batch):
            part = records[start : start + batch]
            collection.add(
                ids=[r.id for r in part],
                embeddings=np.stack([r.embedding for r in part]).astype(np.float32),
                documents=[r.document for r in part],
                metadatas=[r.metadata for r in part],
            )

    def publish(self, collection: Collection) -> None:
        """Make `collection` the live generation; the previous one is deleted."""
        if self.server_lock is not None and not self.server_lock.still_held():
            raise StoreBusyError(
                f"another writer took over the write lock of '{self.store.name}'; nothing was published"
            )
        self.store._publish(collection)

    def discard(self, collection: Collection) -> None:
        self.store.client.delete_collection(collection.name)


def _records(collection: Collection, with_embeddings: bool, where: dict[str, Any] | None) -> Iterator[Record]:
    include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
    offset = 0
    while True:
        batch = collection.get(where=where, limit=READ_BATCH, offset=offset, include=include)
        ids = batch["ids"]
        if not ids:
            return
        embeddings = batch["embeddings"] if with_embeddings else [None] * len(ids)
        for id_, document, metadata, embedding in zip(ids, batch["documents"], batch["metadatas"], embeddings):
            vector = np.asarray(embedding, dtype=np.float32) if embedding is not None else None
            yield Record(id_, document or "", dict(metadata or {}), vector)
        offset += len(ids)
