"""Entries and documents → chunks (the vectors of the index), sized in the embedder's tokens.

An FAQ entry gets a vector for its question, one per alternate question, and one or more for
"question + answer" (the answer split so that nothing exceeds what the embedder reads). A document
is split at its Markdown headings, then by tokens; each passage carries its heading path.
Chunk ids derive from the source, the entry id and a hash of the content: unchanged content keeps
its ids, edited content gets new ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from qa.config import ChunkingSettings
from qa.ingest.errors import KnowledgeBaseError, Problem
from qa.types import Chunk, Document, Entry

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

SPECIAL_TOKENS = 2  # [CLS] and [SEP]
_HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


def content_hash(*parts: object) -> str:
    """A stable hash of some content."""
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


class Chunker:
    """Turns entries and documents into chunks that the embedder reads whole."""

    def __init__(self, settings: ChunkingSettings, tokenizer: PreTrainedTokenizerBase, max_tokens: int) -> None:
        self.settings = settings
        self.tokenizer = tokenizer
        self.budget = max_tokens - SPECIAL_TOKENS
        if self.budget < 16:
            raise ValueError(f"the embedder reads only {max_tokens} tokens")

    def run(self, entries: Iterable[Entry], documents: Iterable[Document]) -> list[Chunk]:
        """All chunks; a question too long for the embedder is an error naming its line."""
        chunks: list[Chunk] = []
        problems: list[Problem] = []
        entries = list(entries)
        lengths = iter(self.token_counts([q for entry in entries for q in (entry.question, *entry.alternate_questions)]))
        for entry in entries:
            question_tokens, *alternate_tokens = (next(lengths) for _ in range(1 + len(entry.alternate_questions)))
            longest = max([question_tokens, *alternate_tokens])
            if longest > self.budget:
                problems.append(Problem(entry.source, entry.line, f"a question is {longest} tokens long; the embedder reads at most {self.budget}"))
                continue
            chunks.extend(self.entry_chunks(entry, question_tokens))
        if problems:
            raise KnowledgeBaseError(problems)
        for document in documents:
            chunks.extend(self.document_chunks(document))
        return chunks

    def tokens(self, text: str) -> int:
        return len(self.tokenizer.tokenize(text))

    def token_counts(self, texts: list[str]) -> list[int]:
        """The token count of each text, in one batched call of the tokenizer."""
        if not texts:
            return []
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]

    def entry_chunks(self, entry: Entry, question_tokens: int | None = None) -> list[Chunk]:
        """The entry's chunks; `question_tokens`: its question's length when already counted."""
        digest = content_hash(entry.id, entry.question, entry.answer, entry.alternate_questions, entry.category, entry.url)
        texts = [("question", entry.question)]
        texts += [("alternate", alternate) for alternate in entry.alternate_questions]
        if question_tokens is None:
            question_tokens = self.tokens(entry.question)
        answer_budget = self.budget - question_tokens - 1
        texts += [("qa", f"{entry.question}\n{part}") for part in self._answer_parts(entry.answer, answer_budget)]
        return [
            Chunk(
                id=f"{entry.source}::{entry.id}::{kind}{index}::{digest[:16]}",
                text=text,
                entry_id=entry.id,
                kind=kind,
                source=entry.source,
                question=entry.question,
                answer=entry.answer,
                content_hash=digest,
                url=entry.url,
                category=entry.category,
            )
            for index, (kind, text) in enumerate(texts)
        ]

    def _answer_parts(self, answer: str, budget: int) -> list[str]:
        """The answer whole when it fits `budget` tokens (most do: one tokenizer call), else split."""
        if budget <= 0:
            return []
        if self.tokens(answer) <= budget:
            return [answer.strip()]
        return self._splitter(max(budget, 16)).split_text(answer)

    def document_chunks(self, document: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for heading_path, passage in self._passages(document):
            digest = content_hash(document.source, heading_path, passage, document.url)
            if digest in seen:
                continue
            seen.add(digest)
            chunks.append(
                Chunk(
                    id=f"{document.source}::passage::{digest[:16]}",
                    text=f"{heading_path}\n{passage}",
                    entry_id=f"doc:{document.source}#{digest[:10]}",
                    kind="passage",
                    source=document.source,
                    question=heading_path,
                    answer=passage,
                    content_hash=digest,
                    url=document.url,
                )
            )
        return chunks

    def _passages(self, document: Document) -> Iterable[tuple[str, str]]:
        """(heading path, passage text) pairs that fit the embedder with their heading path."""
        sections = MarkdownHeaderTextSplitter(_HEADINGS, strip_headers=True).split_text(document.text)
        for section in sections:
            headings = [section.metadata[key] for _, key in _HEADINGS if key in section.metadata]
            if headings and headings[0] == document.title:
                headings = headings[1:]
            heading_path = " > ".join([document.title, *headings])
            budget = min(self.settings.chunk_tokens, self.budget - self.tokens(heading_path) - 1)
            for passage in self._splitter(max(budget, 16)).split_text(section.page_content):
                if passage.strip():
                    yield heading_path, passage.strip()

    def _splitter(self, chunk_tokens: int) -> RecursiveCharacterTextSplitter:
        return _token_splitter(self.tokenizer, chunk_tokens, min(self.settings.overlap_tokens, chunk_tokens // 4))


@lru_cache(maxsize=64)
def _token_splitter(tokenizer: PreTrainedTokenizerBase, chunk_tokens: int, overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        tokenizer, chunk_size=chunk_tokens, chunk_overlap=overlap
    )
