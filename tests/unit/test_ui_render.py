"""A reply as chat messages: answer, confidence badge, expandable sources, clickable options."""

from __future__ import annotations

import pytest

from qa.types import Reply, Source
from qa.ui.render import confidence_badge, escape, reply_messages

SOURCES = (
    Source("reset", "How do I reset my password?", "kb/faq.yaml", 0.91, "https://help.example/reset"),
    Source("doc:guide", "Guide > Sign in", "kb/docs/guide.md", 0.62),
)


def test_answer_with_badge_and_expandable_sources() -> None:
    reply = Reply("Use *Forgot password*.", "faq", 0.91, sources=SOURCES)

    answer, sources = reply_messages(reply, threshold=0.55, margin=0.1)

    assert answer["content"].startswith("Use *Forgot password*.")
    assert "High confidence (91%)" in answer["content"]
    assert sources["metadata"] == {"title": "Sources (2)", "status": "done"}
    assert "[1] **How do I reset my password?**: [kb/faq.yaml](https://help.example/reset), score 0.91" in sources["content"]
    assert "[2] **Guide > Sign in**: `kb/docs/guide.md`, score 0.62" in sources["content"].replace("\\", "")


@pytest.mark.parametrize(("confidence", "level"), [(0.9, "High"), (0.6, "Medium"), (0.3, "Low")])
def test_badge_levels(confidence: float, level: str) -> None:
    assert confidence_badge(confidence, threshold=0.55, margin=0.1).startswith(level)


def test_clarification_offers_its_options_as_buttons() -> None:
    reply = Reply("Did you mean A or B?", "clarify", 0.7, sources=SOURCES, answered=False, options=("A?", "B?"))

    [message] = reply_messages(reply, 0.55, 0.1)

    assert message["options"] == [{"value": "A?", "label": "A?"}, {"value": "B?", "label": "B?"}]
    assert "confidence" not in message["content"]


def test_unanswered_reply_offers_suggestions() -> None:
    reply = Reply("I don't know.", "out_of_scope", 0.2, answered=False, suggestions=("Close question?",))

    [message] = reply_messages(reply, 0.55, 0.1)

    assert message["options"] == [{"value": "Close question?", "label": "Close question?"}]


def test_pending_reply_shows_it_is_being_written_without_badge_or_options() -> None:
    reply = Reply("Partial answ", "faq", 0.91, sources=SOURCES, suggestions=("x",))

    answer, sources = reply_messages(reply, 0.55, 0.1, pending=True)

    assert answer["content"] == "Partial answ …" and "options" not in answer
    assert sources["metadata"]["status"] == "pending"


def test_source_text_cannot_inject_markup() -> None:
    assert escape("[click](javascript:alert(1)) <b>x</b>") == "\\[click\\](javascript:alert(1)) \\<b\\>x\\</b\\>"
