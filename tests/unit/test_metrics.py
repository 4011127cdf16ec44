"""Evaluation metrics: ranking figures, out-of-scope detection, the best threshold, latency, the report."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.evaluation import metrics
from qa.evaluation.queries import EvalQuery
from qa.evaluation.report import build_report, format_report, worst_errors
from qa.evaluation.runner import Outcome
from qa.types import Hit, Reply, Source

ISSUE_KEYS = {"n", "n_in_scope", "retrieval", "reranked", "oos", "accuracy", "latency_ms"}


def test_recall_and_mrr_count_missing_and_low_ranks_as_misses() -> None:
    ranks = [1, 2, None, 12]
    assert metrics.recall_at(ranks, 1) == 0.25
    assert metrics.recall_at(ranks, 5) == 0.5
    assert metrics.mrr_at(ranks, 10) == pytest.approx((1 + 0.5) / 4)
    assert metrics.ranking_figures([1, 1]) == {"recall@1": 1.0, "recall@5": 1.0, "mrr@10": 1.0}
    with pytest.raises(ValueError):
        metrics.recall_at([], 1)


def test_detection_precision_recall_f1() -> None:
    found = metrics.detection(actual=[True, True, False, False], predicted=[True, False, True, False])
    assert (found.precision, found.recall, found.f1) == (0.5, 0.5, 0.5)
    nothing = metrics.detection(actual=[True, False], predicted=[False, False])
    assert (nothing.precision, nothing.recall, nothing.f1) == (0.0, 0.0, 0.0)


def test_best_threshold_separates_clean_groups_between_them() -> None:
    threshold, f1 = metrics.best_threshold([0.1, 0.2, 0.8, 0.9], [True, True, False, False])
    assert f1 == 1.0
    assert 0.2 < threshold < 0.8
    assert metrics.best_threshold([0.3, 0.7], [False, False]) is None


def test_best_threshold_when_everything_is_out_of_scope_is_above_the_highest_confidence() -> None:
    threshold, f1 = metrics.best_threshold([0.4, 0.6], [True, True])
    assert f1 == 1.0 and threshold > 0.6


@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), st.booleans()), min_size=1, max_size=30
    ).filter(lambda rows: any(oos for _, oos in rows))
)
def test_best_threshold_is_the_best_of_all_cuts_and_reproduces_its_f1(rows: list[tuple[float, bool]]) -> None:
    confidences, actual = zip(*rows)
    threshold, f1 = metrics.best_threshold(confidences, actual)
    brute = max(
        metrics.detection(actual, [c < cut for c in confidences]).f1 for cut in [*sorted(set(confidences)), math.inf]
    )
    assert f1 == pytest.approx(brute)
    assert metrics.detection(actual, [c < threshold for c in confidences]).f1 == pytest.approx(f1)


def test_latency_percentiles_and_accuracy() -> None:
    assert metrics.latency_percentiles([10, 20, 30, 40, 1000]) == {"p50": 30.0, "p95": pytest.approx(808.0)}
    assert metrics.accuracy([True, False, True, True]) == 0.75


def test_threshold_sweep_matches_the_answer_rule() -> None:
    sweep = metrics.threshold_sweep(
        confidences=[0.9, 0.6, 0.3], top_right=[True, False, False], in_scope=[True, True, False], thresholds=[0.5, 0.95]
    )
    assert sweep["accuracy"] == [pytest.approx(2 / 3), pytest.approx(1 / 3)]
    assert sweep["oos_recall"] == [1.0, 1.0]


def hit(entry_id: str, score: float, rerank: float | None = None) -> Hit:
    return Hit(entry_id, f"question {entry_id}", "answer", "faq.yaml", "faq", score, rerank_score=rerank)


def outcome(query: EvalQuery, retrieved: list[str], ranked: list[Hit], answered: bool, ms: float = 50.0) -> Outcome:
    sources = (Source.from_hit(ranked[0]),) if answered else ()
    reply = Reply("text", "faq" if answered else "out_of_scope", ranked[0].confidence, sources, answered=answered)
    return Outcome(query, tuple(retrieved), tuple(ranked), reply, ms)


def sample_outcomes() -> list[Outcome]:
    return [
        # right after re-ranking, second for the bi-encoder
        outcome(EvalQuery("q1", ("a",), kind="faq"), ["b", "a"], [hit("a", 0.7, 0.9), hit("b", 0.8, 0.2)], True),
        # wrong entry, confidently
        outcome(EvalQuery("q2", ("c",), kind="faq"), ["b", "c"], [hit("b", 0.9, 0.95), hit("c", 0.6, 0.1)], True),
        # out of scope, answered: a false positive
        outcome(EvalQuery("q3", None), ["a"], [hit("a", 0.5, 0.6)], True),
        # out of scope, "I don't know": right
        outcome(EvalQuery("q4", None), ["b"], [hit("b", 0.3, 0.1)], False),
        # in scope, "I don't know": a false negative
        outcome(EvalQuery("q5", ("d",), intent="faq"), ["d"], [hit("d", 0.4, 0.3)], False, ms=150.0),
    ]


def test_report_has_the_issue_keys_and_right_figures() -> None:
    report = build_report(sample_outcomes(), threshold=0.5, reranker="models/reranker")
    assert ISSUE_KEYS <= set(report)
    assert set(report["retrieval"]) == set(report["reranked"]) == {"recall@1", "recall@5", "mrr@10"}
    assert set(report["oos"]) == {"threshold", "precision", "recall", "f1", "best_threshold", "best_f1"}
    assert (report["n"], report["n_in_scope"]) == (5, 3)
    assert report["retrieval"]["recall@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["reranked"]["recall@1"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["accuracy"] == 0.4
    assert report["oos"]["recall"] == 0.5 and report["oos"]["precision"] == 0.5
    assert report["oos"]["best_f1"] >= report["oos"]["f1"]
    assert report["intent_accuracy"] == 0.0  # q5 expected intent "faq", the reply said out_of_scope
    assert report["by_kind"]["faq"]["n"] == 2
    assert report["latency_ms"]["p50"] == 50.0
    assert report["reply_intents"] == {"faq": 3, "out_of_scope": 2}
    assert "re-ranked" in format_report(report)


def test_report_without_out_of_scope_queries_has_null_detection_figures() -> None:
    report = build_report(sample_outcomes()[:2], threshold=0.5, reranker=None)
    assert report["oos"]["threshold"] == 0.5
    assert report["oos"]["recall"] is None and report["oos"]["best_threshold"] is None
    assert "re-ranked" not in format_report(report)


def test_worst_errors_put_the_most_confident_false_positive_first() -> None:
    errors = worst_errors(sample_outcomes())
    assert [(e["error"], e["query"]) for e in errors] == [
        ("false_positive", "q2"),
        ("false_positive", "q3"),
        ("false_negative", "q5"),
    ]
    assert errors[0]["expected_rank"] == 2 and errors[0]["answered"] == "b"
    assert errors[1]["expected"] is None
