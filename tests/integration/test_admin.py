"""Knowledge base administration on a real Chroma index with the packaged bi-encoder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qa.admin import KnowledgeAdmin, Upload, safe_name
from qa.config import Settings
from qa.ingest.errors import KnowledgeBaseError
from qa.ingest.faq_loaders import load_yaml
from qa.pipeline import ChatPipeline

pytestmark = pytest.mark.integration

BASE = """\
entries:
  - id: reset-password
    question: How do I reset my password?
    answer: Use the link on the sign-in page.
    alternate_questions: [I forgot my password]
    url: https://help.example/reset
  - id: plus-price
    question: How much does the Plus plan cost?
    answer: $4.99 a month.
"""
UPLOAD = """\
entries:
  - id: password-reset-again
    question: How can I reset my password?
    answer: Same as before.
  - id: parrot
    question: What does the office parrot eat?
    answer: Sunflower seeds.
"""


@pytest.fixture
def admin(settings: Settings, make_pipeline: Callable[[Settings], ChatPipeline], tmp_path: Path) -> KnowledgeAdmin:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "faq.yaml").write_text(BASE, encoding="utf-8")
    pipeline = make_pipeline(settings)
    pipeline.indexer.ingest([str(kb)])
    return KnowledgeAdmin(pipeline)


def write(tmp_path: Path, name: str, text: str) -> Upload:
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Upload(path, name)


def test_validation_counts_entries_and_finds_near_duplicates(admin: KnowledgeAdmin, tmp_path: Path) -> None:
    before = admin.sources()

    validation = admin.validate([write(tmp_path, "new faq.yaml", UPLOAD)])

    assert validation.ok and validation.sources == ("uploads/new_faq.yaml",)
    assert (validation.entries, validation.documents) == (2, 0)
    [pair] = validation.duplicates
    assert {pair.question, pair.other_question} == {"How can I reset my password?", "How do I reset my password?"}
    assert pair.similarity >= 0.9
    assert admin.sources() == before  # a check writes nothing


def test_validation_reports_problems_with_lines(admin: KnowledgeAdmin, tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "entries:\n  - question: no answer here?\n")
    odd = write(tmp_path, "notes.exe", "binary")

    validation = admin.validate([broken, odd])

    assert not validation.ok
    assert [str(problem) for problem in validation.problems] == [
        "uploads/broken.yaml:2: the entry has no answer",
        "uploads/notes.exe: unsupported file type '.exe' (supported: .csv, .htm, .html, .json, .markdown, .md, .pdf, .txt, .yaml, .yml)",
    ]


def test_ingest_answers_from_the_upload_and_delete_removes_it(admin: KnowledgeAdmin, tmp_path: Path) -> None:
    upload = write(tmp_path, "parrot.yaml", UPLOAD)
    stages = []

    report = admin.ingest([upload], progress=lambda stage, done, total: stages.append(stage))

    assert report.changed and "embedding" in stages
    assert admin.pipeline.ask("what does the parrot eat?").sources[0].id == "parrot"
    stored = admin.uploads_dir / "parrot.yaml"
    assert stored.read_text(encoding="utf-8") == UPLOAD

    admin.delete_source("uploads/parrot.yaml")

    assert "uploads/parrot.yaml" not in admin.sources() and not stored.exists()
    assert admin.pipeline.ask("what does the parrot eat?").sources[0].id != "parrot"


def test_a_failed_ingest_changes_nothing(admin: KnowledgeAdmin, tmp_path: Path) -> None:
    before = admin.sources()
    clash = write(tmp_path, "clash.yaml", "entries:\n  - id: plus-price\n    question: Another?\n    answer: No.\n")

    with pytest.raises(KnowledgeBaseError, match="already used"):
        admin.ingest([clash])

    assert admin.sources() == before and not (admin.uploads_dir / "clash.yaml").exists()


def test_entries_and_export_round_trip(admin: KnowledgeAdmin) -> None:
    rows = admin.entries()
    exported = admin.export_yaml()

    assert [(row.id, row.source, row.kind) for row in rows] == [
        ("reset-password", "kb/faq.yaml", "faq"),
        ("plus-price", "kb/faq.yaml", "faq"),
    ]
    assert rows[0].alternate_questions == ("I forgot my password",) and rows[0].url == "https://help.example/reset"
    reloaded = [raw for raw, _ in load_yaml(exported)]
    assert reloaded[0] == {
        "id": "reset-password",
        "question": "How do I reset my password?",
        "answer": "Use the link on the sign-in page.",
        "alternate_questions": ["I forgot my password"],
        "url": "https://help.example/reset",
    }
    assert len(reloaded) == 2


@pytest.mark.parametrize(("name", "safe"), [("../../etc/passwd", "passwd"), ("my faq (1).csv", "my_faq_1_.csv")])
def test_upload_names_are_made_safe(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_an_unusable_name_is_a_problem(admin: KnowledgeAdmin, tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(UPLOAD, encoding="utf-8")

    validation = admin.validate([Upload(path, "...")])

    assert not validation.ok and "cannot use" in str(validation.problems[0])
