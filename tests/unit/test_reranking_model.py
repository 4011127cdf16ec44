"""Pair construction and calibration of the re-ranker (no model is loaded)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from qa.reranking_model import (
    CALIBRATION_FILE,
    Calibration,
    best_per_hit,
    hit_pairs,
    load_calibration,
    pair_texts,
    score_hits,
    support_scores,
)
from qa.types import Hit


def make_hit(question: str, matched: tuple[str, ...], score: float = 0.7, entry_id: str = "e1") -> Hit:
    return Hit(entry_id, question, "an answer", "faq.yaml", "alternate", score, matched_texts=matched)


def test_pair_joins_the_question_and_the_best_matched_text() -> None:
    hit = make_hit("card arrival", ("Where is my new card?", "My card has not come"))
    assert pair_texts("when will my card come", hit) == ["card arrival | Where is my new card?"]


def test_pair_is_the_matched_text_alone_when_it_starts_with_the_question() -> None:
    assert pair_texts("q", make_hit("How do I reset my password?", ("how do I reset my password?",))) == [
        "how do I reset my password?"
    ]
    qa_text = "How do I reset my password?\nUse the link on the sign-in page."
    assert pair_texts("q", make_hit("How do I reset my password?", (qa_text,))) == [qa_text]


def test_pair_falls_back_to_the_question_without_matched_texts() -> None:
    assert pair_texts("q", make_hit("  Opening hours?  ", ())) == ["Opening hours?"]


def test_hit_pairs_and_best_per_hit_keep_the_owner_of_each_pair() -> None:
    hits = [make_hit("a", ("x",)), make_hit("b", ("y",), entry_id="e2")]
    pairs, owners = hit_pairs("query", hits)
    assert pairs == [("query", "a | x"), ("query", "b | y")]
    assert owners == [0, 1]
    assert best_per_hit([1.0, -2.0, 3.0], [0, 1, 0], 2) == [3.0, -2.0]


def test_probability_is_a_logistic_function_of_both_scores() -> None:
    calibration = Calibration(logit_weight=2.0, similarity_weight=4.0, bias=-3.0, threshold=0.5)
    assert calibration.probability(0.0, 0.75) == pytest.approx(0.5)
    assert calibration.probability(1.0, 0.75) == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert calibration.probability(-1e6, 0.0) == pytest.approx(0.0)
    assert calibration.probability(1e6, 0.0) == pytest.approx(1.0)
    assert calibration.probability(1.0, 0.5) < calibration.probability(1.0, 0.6)


def test_calibration_round_trips_through_its_file(tmp_path) -> None:
    calibration = Calibration(1.5, 3.0, -4.0, threshold=0.42, support_weight=2.5, classifier_weight=3.0)
    path = calibration.save(tmp_path)
    assert path.name == CALIBRATION_FILE
    assert load_calibration(tmp_path) == calibration


def test_a_calibration_without_support_or_classifier_weight_loads_with_zero(tmp_path) -> None:
    fields = {"logit_weight": 1.0, "similarity_weight": 2.0, "bias": -1.0, "threshold": 0.3}
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps(fields))
    calibration = load_calibration(tmp_path)
    assert (calibration.support_weight, calibration.classifier_weight) == (0.0, 0.0)
    assert calibration.probability(1.0, 0.5, support=100.0) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert calibration.ranking(1.0, 0.5, 0.0, entry_probability=1.0) == pytest.approx(1.0)  # the log-odds alone


def test_support_is_the_mean_of_three_matched_scores_with_missing_ones_at_the_floor() -> None:
    hits = [
        make_hit("a", ("a1", "a2", "a3"), score=0.9),
        make_hit("b", ("b1",), score=0.8, entry_id="e2"),
        make_hit("c", ("c1", "c2"), score=0.7, entry_id="e3"),
    ]
    hits = [replace(hits[0], matched_scores=(0.9, 0.8, 0.7)), replace(hits[1], matched_scores=(0.8,))]
    hits.append(replace(make_hit("c", ("c1", "c2"), entry_id="e3"), matched_scores=(0.75, 0.6)))
    assert support_scores(hits) == pytest.approx([0.8, (0.8 + 0.6 + 0.6) / 3, (0.75 + 0.6 + 0.6) / 3])
    assert support_scores([make_hit("d", ("d1",), score=0.66)]) == pytest.approx([0.66]), "no scores: its score"


def test_probability_rises_with_support() -> None:
    calibration = Calibration(1.0, 1.0, -2.0, threshold=0.5, support_weight=3.0)
    assert calibration.probability(0.5, 0.7, 0.6) < calibration.probability(0.5, 0.7, 0.7)


def test_load_calibration_says_what_is_wrong(tmp_path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_calibration(tmp_path)
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"logit_weight": 1.0, "bias": "x"}))
    with pytest.raises(ValueError, match="similarity_weight, bias, threshold"):
        load_calibration(tmp_path)
    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({"method": "isotonic"}))
    with pytest.raises(ValueError, match="unknown calibration method"):
        load_calibration(tmp_path)


class FakeCrossEncoder:
    """Scores a pair by the length of its text; records what it was given."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, str]]] = []

    def predict(self, pairs, batch_size, activation_fn, show_progress_bar):
        self.calls.append(list(pairs))
        return np.asarray([float(len(text)) for _, text in pairs])


def test_score_hits_scores_all_pairs_at_once_and_calibrates() -> None:
    model = FakeCrossEncoder()
    calibration = Calibration(1.0, 0.0, -5.0, threshold=0.5)
    hits = [make_hit("ab", ("cd",), score=0.9), make_hit("abc", ("de",), score=0.1, entry_id="e2")]
    scores = score_hits(model, "query", hits, calibration)
    assert len(model.calls) == 1
    assert [probability for probability, _ in scores] == pytest.approx(
        [calibration.probability(7.0, 0.9), calibration.probability(8.0, 0.1)]
    )
    assert [ranking for _, ranking in scores] == pytest.approx([2.0, 3.0])  # the log-odds without a classifier
    assert score_hits(model, "query", [], calibration) == []


def test_the_entry_probability_orders_the_hits_and_stays_out_of_the_probability() -> None:
    calibration = Calibration(1.0, 0.0, -5.0, threshold=0.5, classifier_weight=4.0)
    hits = [make_hit("ab", ("cd",)), replace(make_hit("abc", ("de",), entry_id="e2"), entry_probability=0.5)]
    (_, first_ranking), (second_probability, second_ranking) = score_hits(
        FakeCrossEncoder(), "query", hits, calibration
    )
    assert second_probability == pytest.approx(calibration.probability(8.0, 0.7))
    assert second_ranking == pytest.approx(calibration.log_odds(8.0, 0.7) + 2.0)
    assert first_ranking == pytest.approx(calibration.log_odds(7.0, 0.7))
    assert calibration.ranking(7.0, 0.7, 0.0, 1.0) > calibration.ranking(8.0, 0.7, 0.0, 0.0)



@pytest.mark.parametrize("settings", [{"max_length": 4}, {"batch_size": 0}, {"classifier_floor": 1.5}, {"classifier_floor": -0.1}])
def test_bad_reranker_settings_are_refused(settings: dict) -> None:
    from qa.config import RerankerSettings
    from qa.reranker import Reranker

    with pytest.raises(ValueError, match=next(iter(settings))):
        Reranker(RerankerSettings(**settings))
