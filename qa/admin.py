"""Knowledge base administration: check uploaded files, load them, list, export and delete entries.

Uploaded files are named `uploads/<file name>` in the index and kept in `<data_dir>/uploads/`
once loaded. A check reports the entries and documents found, every problem with its line, and
near-duplicate entries (`qa.duplicates`: the new questions against each other and the stored
ones). Nothing is written until the files load without a problem.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from qa.duplicates import DuplicatePair, find_duplicates
from qa.ingest.errors import KnowledgeBaseError, Problem
from qa.ingest.indexer import IngestReport
from qa.ingest.sources import LoadedKnowledge, SourceFile, load_knowledge
from qa.pipeline import ChatPipeline
from qa.progress import Progress, no_progress
from qa.store import KnowledgeStore

UPLOADS = "uploads"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Upload:
    """A file given to the admin tab: where it is now and the name it was uploaded under."""

    path: Path
    name: str

    @property
    def source(self) -> str:
        return f"{UPLOADS}/{safe_name(self.name)}"


@dataclass(frozen=True)
class Validation:
    """What a check of uploaded files found."""

    sources: tuple[str, ...]
    entries: int
    documents: int
    problems: tuple[Problem, ...]
    duplicates: tuple[DuplicatePair, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.sources) and not self.problems


@dataclass(frozen=True)
class EntryRow:
    """One entry (or document passage) of the knowledge base."""

    id: str
    question: str
    answer: str
    source: str
    kind: str  # "faq" or "passage"
    alternate_questions: tuple[str, ...] = ()
    category: str | None = None
    url: str | None = None


def safe_name(name: str) -> str:
    """A file name that is safe on disk and in a source id (no folders, no odd characters)."""
    cleaned = _UNSAFE.sub("_", Path(name).name).strip("._")
    if not cleaned:
        raise ValueError(f"cannot use {name!r} as a file name")
    return cleaned


class KnowledgeAdmin:
    """The admin operations on one pipeline's knowledge base."""

    def __init__(self, pipeline: ChatPipeline) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings.app
        self.uploads_dir = pipeline.settings.data_dir / UPLOADS

    @property
    def store(self) -> KnowledgeStore:
        return self.pipeline.store

    def validate(self, uploads: Sequence[Upload]) -> Validation:
        """Load `uploads` without writing anything; report entries, problems and near duplicates."""
        problems = self._file_problems(uploads)
        if problems:
            return Validation(tuple(upload.name for upload in uploads), 0, 0, tuple(problems))
        sources = tuple(upload.source for upload in uploads)
        try:
            knowledge = self._load(uploads)
            self.pipeline.indexer.chunker.run(knowledge.entries, ())  # questions too long for the embedder
        except KnowledgeBaseError as error:
            return Validation(sources, 0, 0, error.problems)
        duplicates = self.near_duplicates(knowledge)
        return Validation(sources, len(knowledge.entries), len(knowledge.documents), (), duplicates)

    def ingest(self, uploads: Sequence[Upload], progress: Progress = no_progress) -> IngestReport:
        """Load `uploads` into the index (replacing earlier uploads of the same names) and keep the files."""
        problems = self._file_problems(uploads)
        if problems:
            raise KnowledgeBaseError(problems)
        report = self.pipeline.indexer.ingest_knowledge(self._load(uploads), progress=progress)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        for upload in uploads:
            shutil.copyfile(upload.path, self.uploads_dir / safe_name(upload.name))
        return report

    def delete_source(self, source: str, progress: Progress = no_progress) -> IngestReport:
        """Remove a source from the index, and its uploaded file when it was uploaded here."""
        report = self.pipeline.indexer.delete_sources([source], progress)
        if source.startswith(f"{UPLOADS}/"):
            (self.uploads_dir / safe_name(source.removeprefix(f"{UPLOADS}/"))).unlink(missing_ok=True)
        return report

    def rebuild(self, progress: Progress = no_progress) -> IngestReport:
        """Re-embed the whole index with the configured embedder."""
        return self.pipeline.indexer.rebuild(progress)

    def sources(self) -> dict[str, int]:
        """Vector counts per source."""
        return self.pipeline.indexer.sources()

    def entries(self) -> list[EntryRow]:
        """The entries and passages of the index, by source then question."""
        found: dict[str, dict] = {}
        for record in self.store.records():
            meta = record.metadata
            entry_id = meta.get("entry_id", record.id)
            row = found.setdefault(entry_id, {"meta": meta, "alternates": []})
            if meta.get("kind") == "alternate":
                row["alternates"].append(record.document)
        rows = [
            EntryRow(
                id=entry_id,
                question=row["meta"].get("question", ""),
                answer=row["meta"].get("answer", ""),
                source=row["meta"].get("source", ""),
                kind="passage" if row["meta"].get("kind") == "passage" else "faq",
                alternate_questions=tuple(row["alternates"]),
                category=row["meta"].get("category"),
                url=row["meta"].get("url"),
            )
            for entry_id, row in found.items()
        ]
        return sorted(rows, key=lambda row: (row.source, row.question))

    def near_duplicates(self, knowledge: LoadedKnowledge) -> tuple[DuplicatePair, ...]:
        """Pairs of entries (at least one of them new) whose questions reach the duplicate threshold."""
        threshold = self.settings.duplicate_threshold
        return find_duplicates(knowledge.entries, self.pipeline.embedder.run, threshold, self.store, knowledge.sources)

    def export_yaml(self) -> str:
        """The FAQ entries as one YAML file that `qa ingest` loads again, each under a comment naming its source."""
        rows = self.entries()
        faq = [row for row in rows if row.kind == "faq"]
        documents = sorted({row.source for row in rows if row.kind == "passage"})
        lines = [f"# Knowledge base export: {len(faq)} FAQ entries."]
        if documents:
            lines.append(f"# Documents (their passages are not in this file): {', '.join(documents)}")
        lines.append("entries:")
        source = None
        for row in faq:
            if row.source != source:
                source = row.source
                lines.append(f"  # source: {source}")
            fields = {"id": row.id, "question": row.question, "answer": row.answer}
            fields |= {"alternate_questions": list(row.alternate_questions)} if row.alternate_questions else {}
            fields |= {key: value for key, value in (("category", row.category), ("url", row.url)) if value}
            dumped = yaml.safe_dump([fields], allow_unicode=True, sort_keys=False, width=100)
            lines.extend(f"  {line}" for line in dumped.splitlines())
        return "\n".join(lines) + "\n"

    def _file_problems(self, uploads: Sequence[Upload]) -> list[Problem]:
        """Problems found before reading: no files, names that clash, files over the size limit."""
        if not uploads:
            return [Problem("(upload)", None, "no files were given")]
        problems = []
        limit = self.settings.max_upload_mb * 2**20
        seen: set[str] = set()
        for upload in uploads:
            try:
                source = upload.source
            except ValueError as error:
                problems.append(Problem(upload.name, None, str(error)))
                continue
            if source in seen:
                problems.append(Problem(source, None, "two uploaded files have this name"))
            seen.add(source)
            if upload.path.stat().st_size > limit:
                problems.append(Problem(source, None, f"the file is over the {self.settings.max_upload_mb} MB upload limit"))
        return problems

    def _load(self, uploads: Sequence[Upload]) -> LoadedKnowledge:
        return load_knowledge([SourceFile(upload.path, upload.source) for upload in uploads])
