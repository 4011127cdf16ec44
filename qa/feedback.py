"""Recorded questions worth linking to an entry (`qa feedback list`), and the link itself (`qa feedback link`).

Worth linking: answers that got a thumbs down, and questions the bot did not answer or answered
with low confidence (the gaps of the insights tab). Once linked, a question becomes a training
pair for `qa finetune`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa.insights import is_gap
from qa.records import Link, Records
from qa.store import KnowledgeStore


@dataclass(frozen=True)
class Linkable:
    """A recorded question, why it is worth linking, what the bot answered, and its link if any."""

    turn_id: int
    question: str
    reason: str  # "thumbs down", "unanswered" or "low confidence"
    answered_with: str | None
    linked_to: str | None


def linkable_questions(records: Records, low_confidence: float) -> list[Linkable]:
    """Thumbs-down and gap questions, newest first, each turn once."""
    links = {link.turn_id: link.entry_id for link in records.links()}
    down = {item["turn_id"] for item in records.feedback("down")}
    found = []
    for turn in reversed(records.turns()):
        if turn.id in down:
            reason = "thumbs down"
        elif is_gap(turn, low_confidence):
            reason = "low confidence" if turn.answered else "unanswered"
        else:
            continue
        answered_with = turn.sources[0]["id"] if turn.answered and turn.sources else None
        found.append(Linkable(turn.id, turn.question, reason, answered_with, links.get(turn.id)))
    return found


def link_questions(records: Records, store: KnowledgeStore, turn_ids: Sequence[int], entry_id: str) -> list[Link]:
    """Link each recorded turn's question to `entry_id`, which must be an entry of the knowledge base."""
    if next(store.records(where={"entry_id": entry_id}), None) is None:
        raise KeyError(f"no entry '{entry_id}' in the knowledge base (see `qa kb list`)")
    known = {turn.id for turn in records.turns()}
    missing = [str(turn_id) for turn_id in turn_ids if turn_id not in known]
    if missing:
        raise KeyError(f"no recorded question with id {', '.join(missing)} (see `qa feedback list`)")
    return [records.link(turn_id, entry_id) for turn_id in turn_ids]
