"""A tiny re-ranker training run on a few BANKING77 intents: mine, train, export, reload, calibrate."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_DATASETS as DATA_DIR

pytestmark = pytest.mark.skipif(
    not (DATA_DIR / "banking77" / "train.csv").is_file(), reason=f"no intent data sets at {DATA_DIR}"
)


def test_intent_datasets_build_entries_and_keep_val_out_of_them() -> None:
    from qa.training.intent_datasets import load_intent_dataset

    train = load_intent_dataset("banking77", DATA_DIR, "train")
    val = load_intent_dataset("banking77", DATA_DIR, "val")
    assert len(train.entries) == 77
    card = next(entry for entry in train.entries if entry.id == "card_arrival")
    assert card.question == card.answer == "card arrival"
    alternates = {text for entry in train.entries for text in entry.alternate_questions}
    held_out = {query.text for query in val.queries} - {query.text for query in train.queries}
    assert held_out and not alternates & held_out
    clinc = load_intent_dataset("clinc150", DATA_DIR, "val")
    assert clinc.has_out_of_scope and len(clinc.entries) == 150


def test_tiny_training_run_exports_a_model_that_loads_and_scores(tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    from qa.models import resolve_model
    from qa.reranking_model import load_calibration, score_hits
    from qa.training.intent_datasets import build_entries, load_intent_dataset
    from qa.training.reranker import (
        BI_ENCODER,
        CandidateMiner,
        bi_encoder_embed,
        export_model,
        fit_calibration,
        hit_logits,
        train_cross_encoder,
        training_pairs,
    )

    train = load_intent_dataset("banking77", DATA_DIR, "train")
    intents = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "top_up_failed"]
    queries = [q for intent in intents for q in [q for q in train.queries if q.intent == intent][:6]]
    entries = build_entries([(q.text, q.intent) for q in queries], "banking77")
    miner = CandidateMiner(entries, bi_encoder_embed())
    candidates = miner.mine(queries[::3], leave_out_self=True, top_k=3)
    assert all(item.query.text not in hit.matched_texts for item in candidates for hit in item.hits)
    assert all(len(hit.matched_scores) == len(hit.matched_texts) for item in candidates for hit in item.hits)
    assert all(1 <= len(item.hits) <= 3 for item in candidates), "the retriever's grouping of the nearest vectors"
    assert all(0.0 < sum(hit.entry_probability for hit in item.hits) <= 1.0 + 1e-6 for item in candidates)

    pairs = training_pairs(candidates, negatives=1, rng=random.Random(0))
    assert {label for _, _, label in pairs} == {0.0, 1.0}
    model = train_cross_encoder(pairs, resolve_model(BI_ENCODER), tmp_path / "work", batch_size=4, layers=1)
    model_dir = tmp_path / "reranker"
    export_model(model, model_dir)
    fit_calibration({"banking77": candidates}, {"banking77": hit_logits(model, candidates)}).save(model_dir)

    reloaded = CrossEncoder(str(model_dir))
    assert str(next(reloaded.model.parameters()).dtype) == "torch.float32"
    assert reloaded.model.config.num_hidden_layers == 1
    scores = score_hits(reloaded, candidates[0].query.text, candidates[0].hits, load_calibration(model_dir))
    assert len(scores) == len(candidates[0].hits) and all(0.0 <= probability <= 1.0 for probability, _ in scores)
    assert np.allclose(hit_logits(reloaded, candidates[:1])[0], hit_logits(model, candidates[:1])[0], atol=0.05), (
        "fp16 storage changes the logits only by rounding"
    )


def test_calibrate_only_fits_the_entry_classifier_weight_and_keeps_the_rest(tmp_path: Path) -> None:
    import json
    import shutil

    from qa.config import PROJECT_ROOT
    from qa.reranking_model import load_calibration
    from qa.training.reranker import CLASSIFIER_MIX, calibrate_reranker

    shipped = PROJECT_ROOT / "models" / "reranker"
    if not (shipped / "model.safetensors").is_file():
        pytest.skip("models/reranker is not there")
    model_dir = tmp_path / "reranker"
    shutil.copytree(shipped, model_dir)
    before = load_calibration(model_dir)
    result = calibrate_reranker(model_dir, DATA_DIR, ["banking77"], max_val_queries=40)
    after = load_calibration(model_dir)
    assert after.classifier_weight in CLASSIFIER_MIX and result["calibration"]["classifier_weight"] == after.classifier_weight
    assert (after.logit_weight, after.support_weight, after.bias, after.threshold) == (
        before.logit_weight, before.support_weight, before.bias, before.threshold
    )  # fmt: skip
    figures = json.loads((model_dir / "calibration_figures.json").read_text(encoding="utf-8"))
    assert figures["val"]["banking77"]["reranked"]["mrr@10"] >= figures["val"]["banking77"]["bi_encoder"]["mrr@10"] - 0.05
