"""The report of an evaluation: its JSON figures, the printed table, and the worst errors."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa.evaluation import metrics
from qa.evaluation.runner import Outcome

TOP_SHOWN = 3


def build_report(outcomes: Sequence[Outcome], threshold: float, reranker: str | None) -> dict[str, Any]:
    """The figures of `qa eval` (keys are only ever added, never renamed).

    `threshold` is the configured answer threshold; `reranker` the re-ranker model (None: off).
    """
    if not outcomes:
        raise ValueError("an evaluation needs at least one query")
    in_scope = [o for o in outcomes if o.query.in_scope]
    out_of_scope = [not o.query.in_scope for o in outcomes]
    report: dict[str, Any] = {
        "n": len(outcomes),
        "n_in_scope": len(in_scope),
        "retrieval": metrics.ranking_figures([o.retrieved_rank for o in in_scope]) if in_scope else None,
        "reranked": metrics.ranking_figures([o.ranked_rank for o in in_scope]) if in_scope else None,
        "oos": _oos(outcomes, out_of_scope, threshold),
        "accuracy": metrics.accuracy([o.correct for o in outcomes]),
        "latency_ms": metrics.latency_percentiles([o.latency_ms for o in outcomes]),
        "in_scope_accuracy": metrics.accuracy([o.correct for o in in_scope]) if in_scope else None,
        "reranker": reranker,
        "reply_intents": dict(Counter(o.reply.intent for o in outcomes).most_common()),
    }
    with_intent = [o for o in outcomes if o.query.intent is not None]
    if with_intent:
        report["intent_accuracy"] = metrics.accuracy([o.reply.intent == o.query.intent for o in with_intent])
    kinds = sorted({o.query.kind for o in outcomes if o.query.kind is not None})
    if kinds:
        report["by_kind"] = {kind: _kind_figures([o for o in outcomes if o.query.kind == kind]) for kind in kinds}
    return _rounded(report)


def outcome_sweep(outcomes: Sequence[Outcome], thresholds: Sequence[float]) -> dict[str, list[float]]:
    """`metrics.threshold_sweep` of the outcomes: accuracy (and out-of-scope recall) at each threshold."""
    return metrics.threshold_sweep(
        [o.confidence for o in outcomes],
        [o.ranked_rank == 1 for o in outcomes],
        [o.query.in_scope for o in outcomes],
        thresholds,
    )


def _oos(outcomes: Sequence[Outcome], actual: Sequence[bool], threshold: float) -> dict[str, float | None]:
    """Out-of-scope detection at the configured threshold, and the threshold with the best F1."""
    figures: dict[str, float | None] = {"threshold": threshold}
    best = metrics.best_threshold([o.confidence for o in outcomes], actual)
    if best is None:  # no out-of-scope query
        return figures | dict.fromkeys(("precision", "recall", "f1", "best_threshold", "best_f1"))
    found = metrics.detection(actual, [o.answer_id is None for o in outcomes])
    return figures | {
        "precision": found.precision,
        "recall": found.recall,
        "f1": found.f1,
        "best_threshold": best[0],
        "best_f1": best[1],
    }


def _kind_figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    in_scope = [o for o in outcomes if o.query.in_scope]
    figures: dict[str, Any] = {"n": len(outcomes), "accuracy": metrics.accuracy([o.correct for o in outcomes])}
    if in_scope:
        figures["reranked"] = metrics.ranking_figures([o.ranked_rank for o in in_scope])
    return figures


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def ranking_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The (label, key) of the rankings a report compares: the bi-encoder, and the re-ranker when on."""
    return [("bi-encoder", "retrieval")] + ([("re-ranked", "reranked")] if report["reranker"] else [])


def format_report(report: dict[str, Any]) -> str:
    """The report as a short table for the terminal."""
    n, n_in = report["n"], report["n_in_scope"]
    lines = [f"queries: {n} ({n_in} in scope, {n - n_in} out of scope); re-ranker: {report['reranker'] or 'off'}"]
    if report["retrieval"]:
        lines.append(f"{'':14}{'recall@1':>10}{'recall@5':>10}{'mrr@10':>10}")
        for label, key in ranking_rows(report):
            row = report[key]
            lines.append(f"{label:14}{row['recall@1']:>10.3f}{row['recall@5']:>10.3f}{row['mrr@10']:>10.3f}")
    accuracy = f"accuracy: {report['accuracy']:.3f}"
    if report["in_scope_accuracy"] is not None and n_in < n:
        accuracy += f" (in scope {report['in_scope_accuracy']:.3f})"
    lines.append(accuracy)
    oos = report["oos"]
    if oos["recall"] is not None:
        lines.append(
            f"out of scope at threshold {oos['threshold']:.2f}: precision {oos['precision']:.3f}, "
            f"recall {oos['recall']:.3f}, F1 {oos['f1']:.3f} (best F1 {oos['best_f1']:.3f} at {oos['best_threshold']:.3f})"
        )
    lines.append("replies: " + ", ".join(f"{intent} {count}" for intent, count in report["reply_intents"].items()))
    if "intent_accuracy" in report:
        lines.append(f"intent accuracy: {report['intent_accuracy']:.3f}")
    for kind, figures in report.get("by_kind", {}).items():
        lines.append(f"  {kind}: {figures['n']} queries, accuracy {figures['accuracy']:.3f}")
    latency = report["latency_ms"]
    lines.append(f"turn latency: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms")
    return "\n".join(lines)


def worst_errors(outcomes: Sequence[Outcome], limit: int = 50) -> list[dict[str, Any]]:
    """The most confident wrong answers, then the least confident missed answers (up to `limit` each)."""
    false_positives = sorted((o for o in outcomes if o.answer_id is not None and not o.correct), key=lambda o: -o.confidence)
    false_negatives = sorted((o for o in outcomes if o.query.in_scope and o.answer_id is None), key=lambda o: o.confidence)
    return [_error("false_positive", o) for o in false_positives[:limit]] + [
        _error("false_negative", o) for o in false_negatives[:limit]
    ]


def _error(kind: str, outcome: Outcome) -> dict[str, Any]:
    query = outcome.query
    return {
        "error": kind,
        "query": query.text,
        "history": list(query.history),
        "expected": list(query.expected) if query.expected is not None else None,
        "answered": outcome.answer_id,
        "confidence": round(outcome.confidence, 4),
        "expected_rank": outcome.ranked_rank,
        "top": [
            {"id": hit.entry_id, "question": hit.question, "confidence": round(hit.confidence, 4)}
            for hit in outcome.ranked[:TOP_SHOWN]
        ],
        "line": query.line,
    }


def write_jsonl(path: str | Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write rows as JSON Lines."""
    Path(path).write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
