"""The re-ranking stage with a real (tiny) cross-encoder: calibrated probabilities, order, errors."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.config import RerankerSettings
from qa.models import ModelError
from qa.reranker import Reranker
from qa.reranking_model import Calibration, pair_texts
from qa.types import Hit

MakeModel = Callable[[Calibration | None], Path]

HITS = [
    Hit(f"e{i}", f"question {i}", "answer", "faq.yaml", "faq", score, matched_texts=(f"text {i}",))
    for i, score in enumerate([0.9, 0.7, 0.5, 0.3])
]


def reranker(folder: Path, quantize: bool = False) -> Reranker:
    return Reranker(RerankerSettings(enabled=True, model=str(folder), max_length=32, quantize=quantize))


def test_scores_are_the_calibrated_probability_and_set_the_order(make_cross_encoder: MakeModel) -> None:
    calibration = Calibration(logit_weight=0.0, similarity_weight=-10.0, bias=5.0, threshold=0.5)
    ranked = reranker(make_cross_encoder(calibration)).run("how do I reset my password", HITS)
    assert [hit.entry_id for hit in ranked] == ["e3", "e2", "e1", "e0"]  # the calibration reverses the order
    for hit in ranked:
        assert hit.rerank_score == pytest.approx(1 / (1 + math.exp(10 * hit.score - 5)))
        assert hit.confidence == hit.rerank_score


def test_without_calibration_the_score_is_the_sigmoid_of_the_logit_of_the_pair(make_cross_encoder: MakeModel) -> None:
    import torch
    from sentence_transformers import CrossEncoder

    folder = make_cross_encoder(None)
    query = "how do I reset my password"
    ranked = reranker(folder).run(query, HITS)
    pairs = [(query, pair_texts(query, hit)[0]) for hit in HITS]
    logits = CrossEncoder(str(folder), max_length=32).predict(pairs, activation_fn=torch.nn.Identity())
    expected = {hit.entry_id: 1 / (1 + math.exp(-float(logit))) for hit, logit in zip(HITS, logits)}
    assert {hit.entry_id: hit.rerank_score for hit in ranked} == pytest.approx(expected, abs=1e-5)
    assert [hit.rerank_score for hit in ranked] == sorted(expected.values(), reverse=True)
    assert reranker(folder).run(query, []) == []


def test_a_broken_calibration_fails_when_loading(make_cross_encoder: MakeModel) -> None:
    folder = make_cross_encoder(None)
    (folder / "calibration.json").write_text('{"logit_weight": "high"}', encoding="utf-8")
    with pytest.raises(ModelError, match="calibration"):
        reranker(folder).load()


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such folder"):
        reranker(tmp_path / "no-such-model").load()
    with pytest.raises(ModelError, match="re-ranker 'models/no-such-model' cannot be loaded"):
        reranker(Path("models/no-such-model")).load()  # read as a hub id: offline, it cannot load


def test_quantized_scores_stay_close_and_the_shared_model_stays_float(make_cross_encoder: MakeModel) -> None:
    import torch

    folder = make_cross_encoder(None)
    exact, fast = reranker(folder), reranker(folder, quantize=True)
    query = "how do I reset my password"
    scores = {hit.entry_id: hit.rerank_score for hit in exact.run(query, HITS)}
    assert {hit.entry_id: hit.rerank_score for hit in fast.run(query, HITS)} == pytest.approx(scores, abs=0.02)
    assert not any(type(module) is torch.nn.Linear for module in fast.model.model.modules())
    assert any(isinstance(module, torch.ao.nn.quantized.dynamic.Linear) for module in fast.model.model.modules())
    assert any(type(module) is torch.nn.Linear for module in exact.model.model.modules())
    assert reranker(folder, quantize=True).model is fast.model, "loaded once"


def test_the_shipped_model_lifts_the_matching_entry_over_a_closer_wrong_one() -> None:
    from qa.config import PROJECT_ROOT

    folder = PROJECT_ROOT / "models" / "reranker"
    if not (folder / "model.safetensors").is_file():
        pytest.skip("models/reranker is not there")
    shipped = Reranker(RerankerSettings(enabled=True, model=str(folder), max_length=64, quantize=True))
    hits = [
        banking_hit("card_arrival", "card arrival", "When will my new card arrive?", (0.64, 0.52, 0.5)),
        banking_hit("refund", "request refund", "I would like a refund for something I bought", (0.6, 0.59, 0.58)),
    ]
    ranked = shipped.run("can I get my money back for an item I bought with the card", hits)
    assert [hit.entry_id for hit in ranked] == ["refund", "card_arrival"]
    assert shipped.calibration.support_weight > 0 and 0.0 < shipped.calibration.threshold < 1.0


def banking_hit(entry_id: str, question: str, matched_text: str, matched_scores: tuple[float, ...]) -> Hit:
    """A BANKING77 intent as the retriever returns it: its best matched utterance and the scores of its matches."""
    return Hit(
        entry_id, question, question, "banking77", "faq", matched_scores[0],
        matched_texts=(matched_text,), matched_scores=matched_scores,
    )  # fmt: skip


FAQ = """\
entries:
  - id: reset-password
    question: How do I reset my password?
    answer: Choose "Forgot password" on the sign-in page.
    alternate_questions: ["I forgot my password", "I cannot sign in any more", "my login does not work"]
  - id: refund
    question: Can I get a refund?
    answer: Yes, within 30 days of purchase.
    alternate_questions: ["I want my money back", "how do I return an order"]
  - id: shipping
    question: How long does shipping take?
    answer: Three to five working days.
"""


def test_the_pipeline_orders_hits_by_the_entry_classifier_of_the_live_knowledge_base(
    settings, make_pipeline, make_cross_encoder: MakeModel, tmp_path: Path
) -> None:
    import dataclasses

    from qa.entry_classifier import EntryClassifier
    from qa.timing import StageTimer

    only_the_classifier = Calibration(0.0, 0.0, bias=0.0, threshold=0.5, classifier_weight=10.0)
    model = dataclasses.replace(
        settings.reranker,
        model=str(make_cross_encoder(only_the_classifier)), max_length=32, classifier_min_vectors=0, classifier_floor=0.0,
    )  # fmt: skip
    pipeline = make_pipeline(settings.replace(reranker=model))
    faq = tmp_path / "faq.yaml"
    faq.write_text(FAQ, encoding="utf-8")
    pipeline.indexer.ingest([str(faq)])
    text = "locked out of my account"
    vector = pipeline.embedder.run([text])[0]

    ranked = pipeline.rank(text, vector, StageTimer()).ranked
    expected = EntryClassifier(pipeline.store).fitted().probabilities(vector, [hit.entry_id for hit in ranked], text)
    assert [hit.entry_probability for hit in ranked] == pytest.approx(expected)
    assert expected == sorted(expected, reverse=True) and expected[0] > expected[-1]
    assert ranked[0].entry_id == "reset-password"
    assert all(hit.rerank_score == pytest.approx(0.5) for hit in ranked), "the confidence leaves the classifier out"
    floored = make_pipeline(settings.replace(reranker=dataclasses.replace(model, classifier_floor=0.2)))
    scores = [(hit.entry_probability >= 0.2, hit.rerank_score) for hit in floored.rank(text, vector, StageTimer()).ranked]
    assert all(score == (pytest.approx(0.5) if sure else 0.0) for sure, score in scores), "no answer where the classifier is unsure"
    assert {sure for sure, _ in scores} == {True, False}

    faq.write_text(FAQ.split("  - id: refund")[0], encoding="utf-8")  # one entry left: the classifier is fitted again
    pipeline.indexer.ingest([str(faq)])
    assert [(hit.entry_id, hit.entry_probability) for hit in pipeline.rank(text, vector, StageTimer()).ranked] == [
        ("reset-password", 1.0)
    ]
    pipeline = make_pipeline(settings.replace(reranker=dataclasses.replace(model, classifier_min_vectors=10)))
    assert [hit.entry_probability for hit in pipeline.rank(text, vector, StageTimer()).ranked] == [0.0], "too few phrasings"
