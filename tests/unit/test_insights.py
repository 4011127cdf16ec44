"""Figures over recorded turns: what counts as a gap, percentiles, the time series."""

from __future__ import annotations

import dataclasses

import pytest

from qa.insights import is_gap, percentiles, time_series
from qa.records import TurnRecord

TURN = TurnRecord(
    id=1, time=1_700_000_000.0, conversation_id=None, channel="web", question="q", answer="a", intent="faq",
    confidence=0.9, answered=True, sources=(), latency_ms=100.0, first_token_ms=None,
)


def turn(**changes) -> TurnRecord:
    return dataclasses.replace(TURN, **changes)


@pytest.mark.parametrize(
    ("changes", "gap"),
    [
        ({}, False),
        ({"confidence": 0.6}, True),  # an FAQ answer under the low-confidence bar
        ({"answered": False, "intent": "out_of_scope", "confidence": 0.2}, True),
        ({"answered": False, "intent": "invalid_input", "confidence": 0.0}, False),
        ({"answered": False, "intent": "clarify", "confidence": 0.8}, False),
        ({"intent": "greeting", "confidence": 0.5}, False),  # small talk is no gap
    ],
)
def test_what_counts_as_a_gap(changes: dict, gap: bool) -> None:
    assert is_gap(turn(**changes), low_confidence=0.7) is gap


def test_percentiles() -> None:
    assert percentiles([]) == {}
    figures = percentiles([float(v) for v in range(1, 101)])
    assert figures["p50"] == pytest.approx(50.5) and figures["p90"] == pytest.approx(90.1)
    assert figures["p99"] == pytest.approx(99.01, abs=0.05)


def test_time_series_buckets_and_rates() -> None:
    start = 1_700_000_040.0  # 40 s into a minute
    turns = [
        turn(time=start, answered=True, latency_ms=100.0),
        turn(time=start + 10, answered=False, latency_ms=300.0),
        turn(time=start + 600, answered=True, latency_ms=50.0),
    ]

    series = time_series(turns)

    assert [row["turns"] for row in series] == [2, 1]  # one-minute buckets for ten minutes of data
    assert [row["answer_rate"] for row in series] == [0.5, 1.0]
    assert series[0]["p50_ms"] == 200.0
    assert series[1]["time"].timestamp() == (start + 600) // 60 * 60


def test_long_spans_use_wider_buckets() -> None:
    turns = [turn(time=1_700_000_000.0 + day * 86400) for day in range(60)]

    assert len(time_series(turns)) == 60
    assert time_series([]) == ()
