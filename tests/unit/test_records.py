"""The record of turns and feedback (SQLite in a temporary folder)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import qa.records
from qa.records import Records
from qa.types import Reply, Source

REPLY = Reply(
    answer="Plus costs $4.99 per month.",
    intent="faq",
    confidence=0.87,
    sources=(Source("plus-price", "How much does Plus cost?", "kb/faq.yaml", 0.87, "https://x.example/plus"),),
)


def test_a_turn_is_read_back_whole(tmp_path: Path) -> None:
    records = Records.in_folder(tmp_path)
    turn_id = records.add_turn("how much is plus", REPLY, 123.4, "conv-1", "web", first_token_ms=50.0)

    [turn] = records.turns()
    assert turn.id == turn_id
    assert (turn.question, turn.answer, turn.intent, turn.answered) == ("how much is plus", REPLY.answer, "faq", True)
    assert turn.confidence == pytest.approx(0.87)
    assert turn.sources[0]["id"] == "plus-price" and turn.sources[0]["url"] == "https://x.example/plus"
    assert (turn.latency_ms, turn.first_token_ms, turn.conversation_id, turn.channel) == (123.4, 50.0, "conv-1", "web")


def test_feedback_keeps_the_question_answer_and_sources(tmp_path: Path) -> None:
    records = Records.in_folder(tmp_path)
    first = records.add_turn("how much is plus", REPLY, 10.0)
    second = records.add_turn("plus price?", REPLY, 10.0)

    records.add_feedback(first, "up")
    records.add_feedback(second, "down")

    assert records.feedback_counts() == {"up": 1, "down": 1}
    [down] = records.feedback("down")
    assert (down["turn_id"], down["question"], down["answer"]) == (second, "plus price?", REPLY.answer)
    assert down["sources"][0]["question"] == "How much does Plus cost?"


def test_records_survive_a_new_process(tmp_path: Path) -> None:
    turn_id = Records.in_folder(tmp_path).add_turn("hello", REPLY, 1.0)
    Records.in_folder(tmp_path).add_feedback(turn_id, "up")

    assert Records.in_folder(tmp_path).feedback_counts()["up"] == 1


@pytest.mark.parametrize(("turn_id", "rating", "error"), [(999, "up", KeyError), (1, "meh", ValueError)])
def test_bad_feedback_is_refused(tmp_path: Path, turn_id: int, rating: str, error: type) -> None:
    records = Records.in_folder(tmp_path)
    records.add_turn("hello", REPLY, 1.0)

    with pytest.raises(error):
        records.add_feedback(turn_id, rating)
    assert records.feedback_counts() == {"up": 0, "down": 0}


def test_turns_since_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qa.records, "time", SimpleNamespace(time=iter([100.0, 200.0]).__next__))
    records = Records.in_folder(tmp_path)
    records.add_turn("old", REPLY, 1.0)
    records.add_turn("new", REPLY, 1.0)

    assert [turn.question for turn in records.turns(since=150.0)] == ["new"]
    assert [turn.question for turn in records.turns()] == ["old", "new"]
