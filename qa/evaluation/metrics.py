"""The figures of an evaluation, as pure functions over ranks, decisions and timings.

Ranks are 1-based; None means the right entry was not among the candidates. Out-of-scope
detection treats "out of scope" as the positive class: precision is the share of the bot's
"I don't know" replies that were right to say so, recall the share of out-of-scope queries
that got one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def recall_at(ranks: Sequence[int | None], k: int) -> float:
    """The share of queries whose right entry is among the first `k`."""
    if not ranks:
        raise ValueError("recall needs at least one ranked query")
    return sum(1 for rank in ranks if rank is not None and rank <= k) / len(ranks)


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    """Mean reciprocal rank, counting a right entry below rank `k` (or missing) as 0."""
    if not ranks:
        raise ValueError("MRR needs at least one ranked query")
    return sum(1.0 / rank for rank in ranks if rank is not None and rank <= k) / len(ranks)


def ranking_figures(ranks: Sequence[int | None]) -> dict[str, float]:
    """recall@1, recall@5 and MRR@10 of some ranks."""
    return {"recall@1": recall_at(ranks, 1), "recall@5": recall_at(ranks, 5), "mrr@10": mrr_at(ranks, 10)}


@dataclass(frozen=True)
class Detection:
    """Precision, recall and F1 of a yes/no decision (here: "out of scope")."""

    precision: float
    recall: float
    f1: float


def detection(actual: Sequence[bool], predicted: Sequence[bool]) -> Detection:
    """How well `predicted` finds the true cases of `actual` (a precision of nothing predicted is 0)."""
    if len(actual) != len(predicted):
        raise ValueError("actual and predicted must have the same length")
    true_positives = sum(1 for a, p in zip(actual, predicted) if a and p)
    predicted_positives, actual_positives = sum(map(bool, predicted)), sum(map(bool, actual))
    precision = true_positives / predicted_positives if predicted_positives else 0.0
    recall = true_positives / actual_positives if actual_positives else 0.0
    return Detection(precision, recall, _f1(precision, recall))


def best_threshold(confidences: Sequence[float], actual_oos: Sequence[bool]) -> tuple[float, float] | None:
    """The confidence threshold (say "I don't know" below it) with the best out-of-scope F1, and that F1.

    Thresholds are taken halfway between consecutive distinct confidences, so the figure survives
    rounding. None when there is no out-of-scope query.
    """
    if len(confidences) != len(actual_oos):
        raise ValueError("confidences and actual_oos must have the same length")
    labels = np.asarray(actual_oos, dtype=bool)
    if not labels.any():
        return None
    order = np.argsort(np.asarray(confidences, dtype=float), kind="stable")
    values, labels = np.asarray(confidences, dtype=float)[order], labels[order]
    true_positives = np.cumsum(labels)  # out-of-scope queries among the i+1 least confident
    cuts = np.flatnonzero(np.append(values[1:] > values[:-1], True))  # last index of each distinct value
    flagged = cuts + 1
    precision = true_positives[cuts] / flagged
    recall = true_positives[cuts] / labels.sum()
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    best = int(np.argmax(f1))
    cut = cuts[best]
    upper = values[cut + 1] if cut + 1 < len(values) else values[cut] + max(1e-3, abs(values[cut]) * 1e-3)
    return float((values[cut] + upper) / 2), float(f1[best])


def accuracy(correct: Sequence[bool]) -> float:
    """The share of right replies."""
    if not correct:
        raise ValueError("accuracy needs at least one reply")
    return sum(map(bool, correct)) / len(correct)


def latency_percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of some timings, in milliseconds."""
    if not values_ms:
        raise ValueError("latency needs at least one timing")
    values = np.asarray(values_ms, dtype=float)
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def threshold_sweep(
    confidences: Sequence[float], top_right: Sequence[bool], in_scope: Sequence[bool], thresholds: Sequence[float]
) -> dict[str, list[float]]:
    """Accuracy (and out-of-scope recall when there are such queries) if the bot answered at each threshold.

    The bot answers with its best candidate when its confidence reaches the threshold: an
    in-scope query is right when that candidate is right, an out-of-scope one when it does not answer.
    """
    conf = np.asarray(confidences, dtype=float)[None, :]
    cuts = np.asarray(thresholds, dtype=float)[:, None]
    answered = conf >= cuts
    scope = np.asarray(in_scope, dtype=bool)[None, :]
    right = np.where(scope, answered & np.asarray(top_right, dtype=bool)[None, :], ~answered)
    sweep = {"threshold": list(map(float, thresholds)), "accuracy": right.mean(axis=1).tolist()}
    if not scope.all():
        sweep["oos_recall"] = (~answered[:, ~scope[0]]).mean(axis=1).tolist()
    return sweep
