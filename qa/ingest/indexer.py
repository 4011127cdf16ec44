"""Write loaded knowledge to the store: embed only what is new, keep the rest, switch at once.

Loading a set of sources replaces those sources (and files gone from a loaded folder) and keeps
every other source. Unchanged chunks keep their ids and vectors; edited entries get new chunks and
lose their old ones; removed entries lose theirs. Nothing is written when nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from qa.embedder import Embedder
from qa.ingest.chunking import Chunker
from qa.ingest.errors import KnowledgeBaseError, Problem
from qa.ingest.sources import LoadedKnowledge, discover, load_knowledge
from qa.progress import Progress, no_progress
from qa.store import KnowledgeStore, Record, StoreError
from qa.types import Chunk

EMBED_BATCH = 512


@dataclass(frozen=True)
class IngestReport:
    """What one load did to the index."""

    sources: tuple[str, ...]
    entries: int
    documents: int
    added: int
    removed: int
    total: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def summary(self) -> str:
        return (
            f"{len(self.sources)} source(s), {self.entries} FAQ entries, {self.documents} document(s): "
            f"{self.added} vector(s) embedded, {self.removed} removed, {self.total} in the index"
        )


class Indexer:
    """Loads files into the knowledge store."""

    def __init__(self, store: KnowledgeStore, embedder: Embedder, chunker: Chunker) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker

    def ingest(self, paths: Iterable[str], rebuild: bool = False, progress: Progress = no_progress) -> IngestReport:
        """Load files and folders; on any problem raise KnowledgeBaseError and write nothing."""
        files, folders = discover(paths)
        if not files:
            raise KnowledgeBaseError([Problem(", ".join(map(str, paths)) or "(nothing)", None, "no files to load")])
        progress("loading", 0, len(files))
        knowledge = load_knowledge(files, folders)
        progress("loading", len(files), len(files))
        return self.ingest_knowledge(knowledge, rebuild, progress)

    def ingest_knowledge(self, knowledge: LoadedKnowledge, rebuild: bool = False, progress: Progress = no_progress) -> IngestReport:
        """Write already loaded knowledge, replacing its sources."""
        replaced = set(knowledge.sources)

        def is_replaced(source: str) -> bool:
            return source in replaced or source.startswith(knowledge.folders)

        chunks = self.chunker.run(knowledge.entries, knowledge.documents)
        return self._write(chunks, is_replaced, rebuild, progress, knowledge)

    def delete_sources(self, sources: Sequence[str], progress: Progress = no_progress) -> IngestReport:
        """Remove every vector of the named sources."""
        known = self.sources()
        missing = [source for source in sources if source not in known]
        if missing:
            raise StoreError(f"no source named {', '.join(map(repr, missing))} (sources: {', '.join(sorted(known)) or 'none'})")
        gone = set(sources)
        return self._write([], gone.__contains__, False, progress, LoadedKnowledge((), (), tuple(sources)))

    def rebuild(self, progress: Progress = no_progress) -> IngestReport:
        """Re-embed the whole index with the configured embedder (after a model change)."""
        return self._write([], lambda source: False, True, progress, LoadedKnowledge((), (), ()))

    def sources(self) -> dict[str, int]:
        """Vector counts per source."""
        counts: dict[str, int] = {}
        for record in self.store.records():
            source = record.metadata.get("source", "")
            counts[source] = counts.get(source, 0) + 1
        return counts

    def _write(
        self,
        chunks: list[Chunk],
        is_replaced: Callable[[str], bool],
        rebuild: bool,
        progress: Progress,
        knowledge: LoadedKnowledge,
    ) -> IngestReport:
        model_id, dimension = self.embedder.model_id, self.embedder.dimension
        with self.store.writer() as writer:
            if not rebuild:
                self.store.check_model(model_id, dimension)
            existing = list(self.store.records())
            kept = [record for record in existing if not is_replaced(record.metadata.get("source", ""))]
            _check_entry_ids(knowledge, kept)
            existing_ids = {record.id for record in existing}
            wanted_ids = {chunk.id for chunk in chunks}
            removed = sum(1 for r in existing if r.id not in wanted_ids and is_replaced(r.metadata.get("source", "")))
            reused_ids = set() if rebuild else ({r.id for r in kept} | (wanted_ids & existing_ids))
            new_chunks = [chunk for chunk in chunks if chunk.id not in reused_ids]
            if rebuild:
                new_chunks += [_chunk_of(record) for record in kept]
            report = IngestReport(
                sources=knowledge.sources,
                entries=len(knowledge.entries),
                documents=len(knowledge.documents),
                added=len(new_chunks),
                removed=removed,
                total=len(reused_ids) + len(new_chunks),
            )
            if not report.changed and self.store.live() is not None:
                return report
            collection = writer.create(model_id, dimension)
            written = 0

            def write(records: list[Record]) -> None:
                nonlocal written
                writer.add(collection, records)
                written += len(records)
                progress("writing", written, report.total)

            try:
                write([r for r in self.store.records(with_embeddings=True) if r.id in reused_ids])
                with ThreadPoolExecutor(max_workers=1) as background:  # a batch is written while the next is embedded
                    batches = [background.submit(write, records) for records in self._embed(new_chunks, progress)]
                    for batch in batches:
                        batch.result()
                writer.publish(collection)
            except BaseException:
                writer.discard(collection)
                raise
        return report

    def _embed(self, chunks: Sequence[Chunk], progress: Progress) -> Iterator[list[Record]]:
        """Embedded chunks, a batch at a time (sorted by length, so batches pad little), with progress."""
        ordered = sorted(chunks, key=lambda chunk: len(chunk.text))
        progress("embedding", 0, len(chunks))
        for start in range(0, len(ordered), EMBED_BATCH):
            batch = ordered[start : start + EMBED_BATCH]
            vectors = self.embedder.run([chunk.text for chunk in batch])
            yield [Record(c.id, c.text, c.metadata(), v) for c, v in zip(batch, vectors)]
            progress("embedding", start + len(batch), len(chunks))


def _chunk_of(record: Record) -> Chunk:
    """The chunk a stored record was made from (to re-embed it)."""
    meta = record.metadata
    return Chunk(
        id=record.id,
        text=record.document,
        entry_id=meta.get("entry_id", record.id),
        kind=meta.get("kind", "passage"),
        source=meta.get("source", ""),
        question=meta.get("question", ""),
        answer=meta.get("answer", ""),
        content_hash=meta.get("content_hash", ""),
        url=meta.get("url"),
        category=meta.get("category"),
    )


def _check_entry_ids(knowledge: LoadedKnowledge, kept: Iterable[Record]) -> None:
    """Entry ids are unique across the knowledge base, not only within the files loaded now."""
    owners = {record.metadata.get("entry_id"): record.metadata.get("source") for record in kept}
    problems = [
        Problem(entry.source, entry.line, f"id '{entry.id}' is already used by an entry of {owners[entry.id]}")
        for entry in knowledge.entries
        if entry.id in owners
    ]
    if problems:
        raise KnowledgeBaseError(problems)
