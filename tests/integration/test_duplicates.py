"""Near-duplicate entries reported by `qa ingest` with the packaged bi-encoder; the load still succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.cli import main
from qa.config import Settings
from qa.duplicates import index_duplicates
from qa.pipeline import ChatPipeline
from tests.integration.test_admin import BASE as FAQ
from tests.integration.test_admin import UPLOAD as MORE

pytestmark = pytest.mark.integration
# FAQ: reset-password and plus-price; MORE: a paraphrase of reset-password, and an unrelated entry


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_ingest_warns_about_a_paraphrased_pair_and_loads_everything(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path / "kb", "faq.yaml", FAQ)
    assert main(["--data-dir", str(settings.data_dir), "ingest", str(first)]) == 0
    assert "near-duplicate" not in capsys.readouterr().err

    second = write(tmp_path / "kb", "more.yaml", MORE)
    assert main(["--data-dir", str(settings.data_dir), "ingest", str(second)]) == 0

    out, err = capsys.readouterr()
    assert "2 FAQ entries" in out and "vector(s) embedded" in out  # loaded anyway
    warning = [line for line in err.splitlines() if "≈" in line]
    assert "1 pair(s) of near-duplicate entries" in err and len(warning) == 1
    assert "more.yaml: password-reset-again" in warning[0] and "faq.yaml: reset-password" in warning[0]
    assert "parrot" not in err


def test_index_duplicates_reads_the_stored_vectors(settings: Settings, make_pipeline, tmp_path: Path) -> None:
    pipeline: ChatPipeline = make_pipeline(settings)
    pipeline.indexer.ingest(
        [str(write(tmp_path / "kb", "faq.yaml", FAQ)), str(write(tmp_path / "kb", "more.yaml", MORE))]
    )

    pairs = index_duplicates(pipeline.store, settings.app.duplicate_threshold)
    assert [{p.entry_id, p.other_entry_id} for p in pairs] == [{"reset-password", "password-reset-again"}]
    assert index_duplicates(pipeline.store, settings.app.duplicate_threshold, sources={"faq.yaml"}) == pairs
    assert index_duplicates(pipeline.store, 0.999) == ()
