"""Find the files to load, name them (source ids), and load them all or report every problem.

Source ids: a file given by itself is named by its file name; a file found in a folder is named
`<folder name>/<path inside the folder>` (`knowledge_base/docs/setup.md`). Folders are walked
recursively, skipping hidden files and README files.

FAQ files: `.yaml`, `.yml`, `.json`, `.csv`, and Markdown files whose name contains `faq` or whose
front matter says `type: faq`. Documents: other Markdown files, `.txt`, `.html`, `.htm`, `.pdf`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.ingest.document_loaders import DOCUMENT_LOADERS
from qa.ingest.errors import FileProblem, KnowledgeBaseError, Problem
from qa.ingest.faq_loaders import LOADERS, has_faq_front_matter, validate_entry
from qa.types import Document, Entry

SUPPORTED_SUFFIXES = frozenset(LOADERS) | frozenset(DOCUMENT_LOADERS)
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """A file to load and the id it is stored under."""

    path: Path
    source: str


@dataclass(frozen=True)
class LoadedKnowledge:
    """Everything loaded from a set of files; `sources` includes files that hold nothing."""

    entries: tuple[Entry, ...]
    documents: tuple[Document, ...]
    sources: tuple[str, ...]
    folders: tuple[str, ...] = ()  # source prefixes of the folders walked (their removed files go)


def discover(paths: Iterable[str | Path]) -> tuple[list[SourceFile], list[str]]:
    """The files under `paths` with their source ids, and the source prefixes of folders."""
    files: list[SourceFile] = []
    folders: list[str] = []
    for given in map(Path, paths):
        if given.is_dir():
            root = given.resolve()
            folders.append(f"{root.name}/")
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root)
                if path.is_file() and not _skipped(relative):
                    files.append(SourceFile(path, f"{root.name}/{relative.as_posix()}"))
        else:
            files.append(SourceFile(given, given.name))
    return files, folders


def is_faq_file(path: Path, text: str | None = None) -> bool:
    """Whether a file holds FAQ entries (else it is a document)."""
    suffix = path.suffix.lower()
    if suffix not in (".md", ".markdown"):
        return suffix in LOADERS
    if "faq" in path.stem.lower():
        return True
    return has_faq_front_matter(text if text is not None else path.read_text(encoding="utf-8-sig"))


def load_knowledge(files: Sequence[SourceFile], folders: Sequence[str] = ()) -> LoadedKnowledge:
    """Load and validate every file; raise one KnowledgeBaseError listing all problems."""
    entries: list[Entry] = []
    documents: list[Document] = []
    problems: list[Problem] = []
    for file in files:
        try:
            loaded = load_file(file)
        except FileProblem as problem:
            problems.append(Problem(file.source, problem.line, problem.reason))
            continue
        except KnowledgeBaseError as error:
            problems.extend(error.problems)
            continue
        if isinstance(loaded, Document):
            documents.append(loaded)
        else:
            entries.extend(loaded)
    problems.extend(duplicate_id_problems(entries))
    if problems:
        raise KnowledgeBaseError(problems)
    return LoadedKnowledge(tuple(entries), tuple(documents), tuple(f.source for f in files), tuple(folders))


def load_file(file: SourceFile) -> list[Entry] | Document:
    """The entries of an FAQ file or the document in a document file."""
    suffix = file.path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise FileProblem(f"unsupported file type '{suffix or file.path.name}' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    try:
        size = file.path.stat().st_size
    except OSError as error:
        raise FileProblem(f"cannot read the file ({error.strerror})") from error
    if size > MAX_FILE_BYTES:
        raise FileProblem(f"the file is {size // 2**20} MB; at most {MAX_FILE_BYTES // 2**20} MB is loaded")
    if suffix == ".pdf":
        return _document(file)
    try:
        text = file.path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileProblem(f"not UTF-8 text (byte {error.start})") from error
    if not is_faq_file(file.path, text):
        return _document(file)
    return _entries(file, text)


def duplicate_id_problems(entries: Iterable[Entry]) -> list[Problem]:
    """A problem for each entry whose id an earlier entry already has."""
    first: dict[str, Entry] = {}
    problems = []
    for entry in entries:
        if entry.id in first:
            seen = first[entry.id]
            where = f"{seen.source}:{seen.line}" if seen.line else seen.source
            problems.append(Problem(entry.source, entry.line, f"duplicate id '{entry.id}' (first at {where})"))
        else:
            first[entry.id] = entry
    return problems


def _entries(file: SourceFile, text: str) -> list[Entry]:
    raw_entries = LOADERS[file.path.suffix.lower()](text)
    if not raw_entries:
        raise FileProblem("the file holds no FAQ entries")
    entries, problems = [], []
    for raw, line in raw_entries:
        try:
            entries.append(validate_entry(raw, file.source, line))
        except FileProblem as problem:
            problems.append(Problem(file.source, problem.line, problem.reason))
    if problems:
        raise KnowledgeBaseError(problems)
    return entries


def _document(file: SourceFile) -> Document:
    title, text = DOCUMENT_LOADERS[file.path.suffix.lower()](file.path)
    if not text.strip():
        raise FileProblem("the document holds no text")
    return Document(source=file.source, title=title, text=text)


def _skipped(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts) or relative.stem.upper() == "README"
