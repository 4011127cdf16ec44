"""ChatPipeline: wires the stages of one chat turn (check → embed → retrieve → re-rank → read)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from qa.config import Settings
from qa.dialogue import Dialogue
from qa.embedder import Embedder
from qa.entry_classifier import EntryClassifier
from qa.generation import GenerativeReader
from qa.guards import InputRejected, check_input
from qa.ingest.chunking import Chunker
from qa.ingest.indexer import Indexer, IngestReport
from qa.progress import Progress, no_progress
from qa.reader import ExtractiveReader
from qa.reranker import Reranker
from qa.retriever import Retriever
from qa.store import KnowledgeStore
from qa.timing import StageTimer
from qa.types import Hit, Rankings, Reply


class ChatPipeline:
    """Answers one turn at a time from the knowledge base; models load on first use."""

    def __init__(self, settings: Settings, store: KnowledgeStore | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or KnowledgeStore(settings)
        self.embedder = embedder or Embedder(settings.embedder)
        self.retriever = Retriever(self.store, settings.retrieval)
        entries = EntryClassifier(self.store, settings.reranker.classifier_min_vectors)
        self.reranker = Reranker(settings.reranker, entries) if settings.reranker.enabled else None
        self.reader = ExtractiveReader(settings.answer)
        self.dialogue = Dialogue(settings, self.embedder, search=self.retriever.run, retrieve=self.retrieve, knowledge=self.store)

    @cached_property
    def generative_reader(self) -> GenerativeReader:
        """The optional generative reader (its model loads on first use)."""
        return GenerativeReader(self.settings.generation, self.embedder)

    @cached_property
    def indexer(self) -> Indexer:
        chunker = Chunker(self.settings.chunking, self.embedder.tokenizer, self.embedder.max_tokens)
        return Indexer(self.store, self.embedder, chunker)

    def check_ready(self) -> None:
        """Load the models and fail with a clear message when the index is damaged or does not fit them."""
        self.store.verify()
        self.store.check_model(self.embedder.model_id, self.embedder.dimension)
        if self.reranker is not None:
            self.reranker.load()  # the cross-encoder and its calibration, now rather than in the first turn
        if self.settings.generation.enabled:
            self.generative_reader.load()
        self.dialogue.warm_up()

    def sync_knowledge_base(self, progress: Progress = no_progress) -> IngestReport | None:
        """Load the configured knowledge base folder; a no-op when nothing in it changed."""
        folder = self.settings.knowledge_base
        if folder is None or not folder.exists():
            return None
        return self.indexer.ingest([str(folder)], progress=progress)

    def stream(self, message: str, conversation_id: str | None = None, generate: bool | None = None) -> Iterator[Reply]:
        """Replies that grow as the answer is written; the last one is complete.

        `generate` turns the generative reader on or off for this turn (None: as the config says);
        only answered FAQ questions go to it, with the hits the extractive answer came from.
        """
        turn = self._turn(message, conversation_id)
        use_generator = self.settings.generation.enabled if generate is None else generate
        if use_generator and turn.hits and turn.reply.intent == "faq" and turn.reply.answered:
            yield from self.generative_reader.stream(turn.question, turn.hits, turn.reply)
        else:
            yield turn.reply

    def ask(self, message: str, conversation_id: str | None = None, generate: bool | None = None) -> Reply:
        """The reply to one message of the conversation `conversation_id` (None: a one-off question)."""
        *_, reply = self.stream(message, conversation_id, generate)
        return reply

    def _turn(self, message: str, conversation_id: str | None) -> Turn:
        """The extractive reply to one message, with the question and hits it came from."""
        timer = StageTimer()
        try:
            text = check_input(message, self.settings.limits)
        except InputRejected as rejection:
            return Turn(Reply(answer=str(rejection), intent="invalid_input", confidence=0.0, answered=False))
        with timer.stage("embed"):
            vector = self.embedder.run([text])[0]
        turn = self.dialogue.open(text, vector, conversation_id, timer)
        reply = turn.reply
        if reply is None:
            with timer.stage("read"):
                reply = self.reader.run(turn.hits, self.settings.threshold)
        reply = self.dialogue.close(turn, reply)
        return Turn(_with_timings(reply, timer), turn.query_text, tuple(turn.hits))

    def retrieve(self, text: str, vector, timer: StageTimer, classify: bool = True) -> list[Hit]:
        """The top_k hits for a query: nearest entries, re-ranked when a re-ranker is on."""
        return list(self.rank(text, vector, timer, classify).ranked[: self.settings.retrieval.top_k])

    def rank(self, text: str, vector, timer: StageTimer, classify: bool = True) -> Rankings:
        """Every candidate of a query, in the retriever's order and re-ranked (`qa eval` reads both);
        `classify`: the knowledge base's entry classifier reads `vector` (one question's, not the
        mix of a follow-up's turns, which it was not trained on)."""
        with timer.stage("retrieve"):
            retrieved = tuple(self.retriever.run(vector))
        ranked = retrieved
        if self.reranker is not None:
            with timer.stage("rerank"):
                ranked = tuple(self.reranker.run(text, retrieved, vector if classify else None))
        return Rankings(retrieved, ranked)


@dataclass(frozen=True)
class Turn:
    """The extractive reply to a message, the cleaned question and the hits (for the generative reader)."""

    reply: Reply
    question: str = ""
    hits: tuple[Hit, ...] = ()


def _with_timings(reply: Reply, timer: StageTimer) -> Reply:
    import dataclasses

    return dataclasses.replace(reply, timings_ms={**timer.ms, "total": sum(timer.ms.values())})
