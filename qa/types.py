"""The typed values that flow between the stages of the pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One FAQ entry as loaded from a file."""

    id: str
    question: str
    answer: str
    source: str
    alternate_questions: tuple[str, ...] = ()
    category: str | None = None
    url: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Document:
    """A document (Markdown, text, HTML, PDF) before splitting."""

    source: str
    title: str
    text: str
    url: str | None = None


@dataclass(frozen=True)
class Chunk:
    """One vector of the knowledge base: the text that is embedded and what it belongs to.

    `kind` is "question", "alternate" or "qa" for the vectors of an FAQ entry, "passage" for a
    piece of a document. `entry_id` groups the vectors of one entry (or one passage).
    """

    id: str
    text: str
    entry_id: str
    kind: str
    source: str
    question: str
    answer: str
    content_hash: str
    url: str | None = None
    category: str | None = None

    def metadata(self) -> dict[str, str]:
        """The Chroma metadata of this chunk (None values are left out)."""
        data = {
            "entry_id": self.entry_id,
            "kind": self.kind,
            "source": self.source,
            "question": self.question,
            "answer": self.answer,
            "content_hash": self.content_hash,
            "url": self.url,
            "category": self.category,
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class Hit:
    """A retrieved entry or passage, scored by its best matching vectors."""

    entry_id: str
    question: str
    answer: str
    source: str
    kind: str
    score: float
    matched_texts: tuple[str, ...] = ()
    url: str | None = None
    category: str | None = None
    rerank_score: float | None = None
    matched_scores: tuple[float, ...] = ()  # the cosine similarity of each matched text
    entry_probability: float = 0.0  # the entry classifier's probability of this entry (set by the re-ranker)

    @property
    def is_passage(self) -> bool:
        return self.kind == "passage"

    @property
    def confidence(self) -> float:
        """The re-ranker's calibrated score when there is one, else the bi-encoder's similarity."""
        return self.rerank_score if self.rerank_score is not None else self.score


@dataclass(frozen=True)
class Rankings:
    """The candidates of one turn in the retriever's order and in the final (re-ranked) order."""

    retrieved: tuple[Hit, ...]
    ranked: tuple[Hit, ...]


@dataclass(frozen=True)
class Source:
    """Where an answer comes from, as shown to the user."""

    id: str
    question: str
    source: str
    score: float
    url: str | None = None

    @classmethod
    def from_hit(cls, hit: Hit) -> Source:
        return cls(hit.entry_id, hit.question, hit.source, round(hit.confidence, 4), hit.url)


@dataclass(frozen=True)
class Reply:
    """The bot's reply to one turn."""

    answer: str
    intent: str
    confidence: float
    sources: tuple[Source, ...] = ()
    suggestions: tuple[str, ...] = ()
    answered: bool = True
    timings_ms: dict[str, float] = field(default_factory=dict)
    generated: bool = False  # written by the generative reader (sources numbered as its [n] citations)
    fallback_reason: str | None = None  # why a generated answer was replaced by the extractive one
    options: tuple[str, ...] = ()  # a clarification's choices ("Did you mean A or B?"): send one back to pick it

    def to_json(self) -> dict[str, Any]:
        """The JSON reply of `qa ask --json` and the `/ask` API (keys are only ever added)."""
        return {
            "answer": self.answer,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "answered": self.answered,
            "sources": [asdict(source) for source in self.sources],
            "suggestions": list(self.suggestions),
            "timings_ms": {stage: round(ms, 2) for stage, ms in self.timings_ms.items()},
            "generated": self.generated,
            "fallback_reason": self.fallback_reason,
            "options": list(self.options),
        }
