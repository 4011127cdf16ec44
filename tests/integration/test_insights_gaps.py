"""Unanswered questions clustered by meaning with the packaged bi-encoder."""

from __future__ import annotations

import dataclasses

import pytest

from qa.embedder import Embedder
from qa.insights import cluster_gaps, summarize
from qa.records import TurnRecord

pytestmark = pytest.mark.integration

TURN = TurnRecord(
    id=0, time=1_700_000_000.0, conversation_id=None, channel="web", question="", answer="I don't know.",
    intent="out_of_scope", confidence=0.3, answered=False,
    sources=({"id": "x", "question": "Closest entry?", "source": "kb.yaml", "score": 0.3, "url": None},),
    latency_ms=80.0, first_token_ms=None,
)
QUESTIONS = [
    "Can I pay with PayPal?",
    "can i pay with paypal?",
    "Do you accept PayPal payments?",
    "Is PayPal supported for payment?",
    "Is there a Linux version of the app?",
    "Does the app run on Linux?",
    "What is your office address?",
]


def turns(questions: list[str]) -> list[TurnRecord]:
    return [dataclasses.replace(TURN, id=i, question=q, time=TURN.time + i) for i, q in enumerate(questions)]


def test_questions_are_grouped_by_meaning_biggest_first(embedder: Embedder) -> None:
    gaps = cluster_gaps(turns(QUESTIONS), embedder)

    assert [gap.count for gap in gaps] == [4, 2, 1]
    assert all("paypal" in example.lower() for example in gaps[0].examples)
    assert gaps[0].examples[0].lower() == "can i pay with paypal?"  # the most asked wording first
    assert all("linux" in example.lower() for example in gaps[1].examples)
    assert gaps[0].closest == "Closest entry?" and gaps[0].closest_score == 0.3


def test_summary_counts_answers_feedback_and_gaps(embedder: Embedder) -> None:
    answered = dataclasses.replace(TURN, question="How do I reset my password?", intent="faq", answered=True, confidence=0.95)
    records = [*turns(QUESTIONS[:2]), answered]

    insights = summarize(records, {"up": 3, "down": 1}, embedder, low_confidence=0.65)

    assert (insights.turns, insights.answered, insights.low_confidence) == (3, 1, 0)
    assert insights.answer_rate == pytest.approx(1 / 3)
    assert insights.intents == {"out_of_scope": 2, "faq": 1}
    assert [gap.count for gap in insights.gaps] == [2]
    assert insights.to_json()["feedback"] == {"up": 3, "down": 1}
