"""Run an evaluation: a temporary, isolated knowledge base, every query asked, each outcome kept.

The knowledge base lives in its own temporary folder (an embedded Chroma, whatever the config
says), so the user's index is never read or written. Each query is asked through the real
pipeline, after replaying its `history` in a fresh conversation; the pipeline's `rank` gives the
candidates of the turn before and after re-ranking.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings
from qa.embedder import Embedder
from qa.evaluation.queries import EvalQuery
from qa.ingest.sources import LoadedKnowledge
from qa.pipeline import ChatPipeline
from qa.progress import Progress, no_progress
from qa.timing import StageTimer
from qa.types import Entry, Hit, Rankings, Reply

EVAL_COLLECTION = "eval"


class RecordingPipeline(ChatPipeline):
    """A ChatPipeline that keeps the candidate rankings of its last turn."""

    last_rankings: Rankings | None = None

    def rank(self, text: str, vector, timer: StageTimer, classify: bool = True) -> Rankings:
        self.last_rankings = super().rank(text, vector, timer, classify)
        return self.last_rankings


@dataclass(frozen=True)
class EvalKnowledgeBase:
    """A built temporary knowledge base: its settings and the entry ids it holds."""

    settings: Settings
    entry_ids: frozenset[str]
    embedder: Embedder


@dataclass(frozen=True)
class Outcome:
    """What the bot did with one query."""

    query: EvalQuery
    retrieved: tuple[str, ...]  # entry ids in the retriever's order
    ranked: tuple[Hit, ...]  # the candidates in the final order, with their scores
    reply: Reply
    latency_ms: float

    @property
    def answer_id(self) -> str | None:
        """The entry the reply answers with; None when the bot did not answer from the knowledge base."""
        return self.reply.sources[0].id if self.reply.answered and self.reply.sources else None

    @property
    def confidence(self) -> float:
        """The confidence of the best candidate (what the answer threshold is compared with)."""
        return self.ranked[0].confidence if self.ranked else 0.0

    @property
    def correct(self) -> bool:
        """The right entry, or "I don't know" to an out-of-scope query."""
        return self.query.matches(self.answer_id) if self.query.in_scope else self.answer_id is None

    @property
    def retrieved_rank(self) -> int | None:
        return self.query.rank_in(self.retrieved)

    @property
    def ranked_rank(self) -> int | None:
        return self.query.rank_in([hit.entry_id for hit in self.ranked])


def isolated_settings(settings: Settings, data_dir: Path) -> Settings:
    """`settings` with an embedded index in `data_dir` and no knowledge base loaded at start."""
    store = dataclasses.replace(settings.store, mode="embedded", collection=EVAL_COLLECTION)
    return settings.replace(data_dir=data_dir, knowledge_base=None, store=store)


@contextmanager
def temporary_knowledge_base(
    settings: Settings,
    paths: Sequence[str] = (),
    entries: Sequence[Entry] = (),
    embedder: Embedder | None = None,
    progress: Progress = no_progress,
) -> Iterator[EvalKnowledgeBase]:
    """A knowledge base built from files (`paths`, as `qa ingest` takes them) or `entries`, deleted after."""
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as folder:
        kb_settings = isolated_settings(settings, Path(folder))
        pipeline = ChatPipeline(kb_settings, embedder=embedder)
        if paths:
            pipeline.indexer.ingest(paths, progress=progress)
        else:
            sources = tuple(dict.fromkeys(entry.source for entry in entries))
            pipeline.indexer.ingest_knowledge(LoadedKnowledge(tuple(entries), (), sources), progress=progress)
        entry_ids = frozenset(record.metadata.get("entry_id", record.id) for record in pipeline.store.records())
        yield EvalKnowledgeBase(kb_settings, entry_ids, pipeline.embedder)


def evaluation_pipeline(kb: EvalKnowledgeBase, rerank: bool | None = None) -> RecordingPipeline:
    """A pipeline over `kb`; `rerank` turns the re-ranker on or off (None: as configured)."""
    settings = kb.settings
    if rerank is not None:
        settings = settings.replace(reranker=dataclasses.replace(settings.reranker, enabled=rerank))
    pipeline = RecordingPipeline(settings, embedder=kb.embedder)
    pipeline.check_ready()
    return pipeline


def ask_all(pipeline: RecordingPipeline, queries: Sequence[EvalQuery], progress: Progress = no_progress) -> list[Outcome]:
    """Ask every query (after its history, in a conversation of its own) and keep the outcomes."""
    outcomes = []
    progress("asking", 0, len(queries))
    for done, query in enumerate(queries, 1):
        outcomes.append(ask_one(pipeline, query))
        progress("asking", done, len(queries))
    return outcomes


def ask_one(pipeline: RecordingPipeline, query: EvalQuery) -> Outcome:
    """One query's outcome; only the last turn is timed."""
    conversation_id = uuid.uuid4().hex if query.history else None
    for turn in query.history:
        pipeline.ask(turn, conversation_id)
    pipeline.last_rankings = None
    start = time.perf_counter()
    reply = pipeline.ask(query.text, conversation_id)
    latency_ms = (time.perf_counter() - start) * 1000
    rankings = pipeline.last_rankings or Rankings((), ())
    retrieved = tuple(hit.entry_id for hit in rankings.retrieved)
    return Outcome(query, retrieved, rankings.ranked, reply, latency_ms)
