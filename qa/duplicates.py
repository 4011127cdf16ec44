"""Near-duplicate FAQ entries: pairs of entries whose questions ask the same thing.

Paraphrase mining with the bi-encoder over every entry's question and alternate questions: two
entries are near duplicates when one of the first's questions and one of the second's reach the
threshold (cosine similarity of their unit vectors; `app.duplicate_threshold` in the config). Each
pair of entries is reported once, by its most similar questions. Questions of the same entry are
never compared (alternates are meant to be paraphrases). The result is a warning: loading goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.store import KnowledgeStore
from qa.types import Entry

QUESTION_KINDS = ("question", "alternate")
BLOCK = 512  # rows of the similarity matrix computed at a time

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Question:
    """One question of an entry (its main question or an alternate) and where the entry comes from."""

    text: str
    entry_id: str
    source: str


@dataclass(frozen=True)
class DuplicatePair:
    """Two entries that ask the same thing, shown by their most similar questions."""

    question: str
    source: str
    other_question: str
    other_source: str
    similarity: float
    entry_id: str = ""
    other_entry_id: str = ""

    def describe(self) -> str:
        """One line for a terminal or a log."""
        return (
            f"{self.similarity:.2f}  {self.question!r} ({self.source}: {self.entry_id})"
            f"  ≈  {self.other_question!r} ({self.other_source}: {self.other_entry_id})"
        )


def entry_questions(entries: Iterable[Entry]) -> list[Question]:
    """The question and alternate questions of each entry."""
    return [
        Question(text, entry.id, entry.source)
        for entry in entries
        for text in (entry.question, *entry.alternate_questions)
    ]


def stored_questions(
    store: KnowledgeStore, exclude_sources: Collection[str] = ()
) -> tuple[list[Question], np.ndarray | None]:
    """The questions stored in the index (not those of `exclude_sources`) and their stored vectors."""
    questions, vectors = [], []
    for record in store.records(with_embeddings=True, where={"kind": {"$in": list(QUESTION_KINDS)}}):
        source = record.metadata.get("source", "")
        if source in exclude_sources or record.embedding is None:
            continue
        questions.append(Question(record.document, record.metadata.get("entry_id", record.id), source))
        vectors.append(record.embedding)
    return questions, (np.vstack(vectors) if vectors else None)


def mine_duplicates(
    questions: Sequence[Question], vectors: np.ndarray, threshold: float, new: int | None = None
) -> tuple[DuplicatePair, ...]:
    """Pairs of entries at or above `threshold`, most similar first.

    `vectors` are the unit-length vectors of `questions`, row for row. With `new`, only pairs
    that involve one of the first `new` questions count (new questions against stored ones).
    """
    if len(questions) != len(vectors):
        raise ValueError("each question needs exactly one vector")
    keys: dict[tuple[str, str], int] = {}
    entries = np.asarray([keys.setdefault((q.source, q.entry_id), len(keys)) for q in questions])
    rows = len(questions) if new is None else new
    columns = np.arange(len(questions))[None, :]
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    for start in range(0, rows, BLOCK):
        index = np.arange(start, min(start + BLOCK, rows))
        block = np.asarray(vectors[index] @ vectors.T, dtype=np.float32)
        block[entries[index][:, None] == entries[None, :]] = -np.inf  # questions of the same entry
        block[(columns <= index[:, None]) & (columns < rows)] = -np.inf  # each pair once
        for row, j in zip(*np.nonzero(block >= threshold)):
            i, j, score = int(index[row]), int(j), float(block[row, j])
            key = (int(min(entries[i], entries[j])), int(max(entries[i], entries[j])))
            if key not in best or score > best[key][0]:
                best[key] = (score, i, j)
    pairs = [_pair(questions[i], questions[j], score) for score, i, j in best.values()]
    return tuple(sorted(pairs, key=lambda pair: (-pair.similarity, pair.question, pair.other_question)))


def find_duplicates(
    entries: Sequence[Entry],
    embed: Embed,
    threshold: float,
    store: KnowledgeStore | None = None,
    replaced_sources: Collection[str] = (),
) -> tuple[DuplicatePair, ...]:
    """Near duplicates among `entries` (not yet embedded), and between them and the entries stored
    in `store` (those of `replaced_sources` left out: the entries replace them)."""
    new = entry_questions(entries)
    if not new:
        return ()
    vectors = embed([question.text for question in new])
    stored, stored_vectors = stored_questions(store, replaced_sources) if store is not None else ([], None)
    if stored_vectors is not None:
        vectors = np.vstack([vectors, stored_vectors])
    return mine_duplicates(new + stored, vectors, threshold, new=len(new))


def index_duplicates(
    store: KnowledgeStore, threshold: float, sources: Collection[str] | None = None
) -> tuple[DuplicatePair, ...]:
    """Near duplicates in the index, from its stored vectors (nothing is embedded again).

    With `sources`, only the pairs that involve an entry of one of those sources.
    """
    questions, vectors = stored_questions(store)
    if vectors is None:
        return ()
    if sources is not None:
        order = sorted(range(len(questions)), key=lambda i: questions[i].source not in sources)
        questions, vectors = [questions[i] for i in order], vectors[order]
        return mine_duplicates(questions, vectors, threshold, new=sum(q.source in sources for q in questions))
    return mine_duplicates(questions, vectors, threshold)


def _pair(first: Question, second: Question, similarity: float) -> DuplicatePair:
    return DuplicatePair(
        first.text, first.source, second.text, second.source, round(similarity, 4), first.entry_id, second.entry_id
    )
