"""Conversation state: bounded turns and conversations, follow-up detection, blending."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from dialogue_fakes import WordEmbedder

from qa.config import ConversationSettings
from qa.conversation import ContextResolver, Conversation, ConversationStore, Turn
from qa.types import Source

EMBED = WordEmbedder()


def turn(text: str, intent: str = "faq", answer: str | None = None) -> Turn:
    vector = EMBED.one(text)
    source = Source(answer, text, "faq.yaml", 0.9) if answer else None
    return Turn(text, vector, vector, intent, source)


def conversation(*turns: Turn) -> Conversation:
    state = Conversation(max_turns=6)
    for item in turns:
        state.add(item)
    return state


def resolver(**changes: object) -> ContextResolver:
    return ContextResolver(dataclasses.replace(ConversationSettings(), **changes))


def test_a_conversation_keeps_only_its_last_turns() -> None:
    store = ConversationStore(ConversationSettings(max_turns=3))
    state = store.get("c1")
    for number in range(5):
        state.add(turn(f"question {number}"))
    assert [item.text for item in store.get("c1").turns] == ["question 2", "question 3", "question 4"]


def test_the_least_recently_used_conversation_goes_first() -> None:
    store = ConversationStore(ConversationSettings(max_conversations=2))
    store.get("a").add(turn("first"))
    store.get("b")
    store.get("a")  # "a" is now the most recently used
    store.get("c")
    assert len(store) == 2 and "a" in store and "c" in store and "b" not in store
    assert [item.text for item in store.get("a").turns] == ["first"]


def test_a_one_off_turn_is_not_stored() -> None:
    store = ConversationStore(ConversationSettings())
    store.get(None).add(turn("hello"))
    assert len(store) == 0 and not store.get(None).turns


def test_topical_turns_skip_small_talk_newest_first() -> None:
    state = conversation(turn("plus price"), turn("thanks", intent="thanks"), turn("team price"))
    assert [item.text for item in state.topical()] == ["team price", "plus price"]


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("for teams?", "elliptical"),
        ("and how do I cancel the subscription", "lead"),
        ("ok and how do I cancel the subscription", "lead"),
        ("what about the yearly subscription price", "lead"),
        ("how much does it cost per month", "pronoun"),
        ("can I share those with my colleagues", "pronoun"),
        ("how do I reset my password", None),
        ("which payment methods do you accept", None),
    ],
)
def test_the_wording_of_a_follow_up_is_recognised(text: str, cue: str | None) -> None:
    assert resolver().cue(text) == cue


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_a_message_without_history_is_standalone() -> None:
    plan = resolver().run("how much is it", EMBED.one("how much is it"), 0.3, conversation())
    assert not plan.followup and plan.reason == "no context"


def test_a_follow_up_is_retrieved_with_the_context_blended_in() -> None:
    state = conversation(turn("what does the plus plan include", answer="plus-features"))
    vector = EMBED.one("and how much is it")
    plan = resolver(blend_weight=0.4, context_update=0.2, context_text=True).run("and how much is it", vector, 0.3, state)
    previous = state.turns[-1].context_vector
    assert plan.followup and plan.reason == "lead"
    assert np.allclose(plan.vector, unit(0.4 * vector + 0.6 * previous), atol=1e-6)
    assert np.allclose(plan.context_vector, unit(0.2 * vector + 0.8 * previous), atol=1e-6)
    assert plan.text == "what does the plus plan include and how much is it"


def test_without_context_text_the_reranker_reads_the_message_alone() -> None:
    state = conversation(turn("what does the plus plan include"))
    plan = resolver(context_text=False).run("and what does it cost", EMBED.one("and what does it cost"), 0.3, state)
    assert plan.followup and plan.text == "and what does it cost"


def test_a_weak_message_follows_up_without_a_cue() -> None:
    state = conversation(turn("how do I export a notebook as pdf"))
    text = "can I export several notebook files at once as pdf"
    plan = resolver(weak_threshold=0.7, context_text=True).run(text, EMBED.one(text), own_score=0.4, conversation=state)
    assert plan.followup and plan.reason == "weak"
    assert plan.text == "how do I export a notebook as pdf " + text


def test_a_strong_question_without_a_cue_is_standalone() -> None:
    state = conversation(turn("how do I export a notebook as pdf"))
    text = "how do I export a notebook as markdown"
    plan = resolver().run(text, EMBED.one(text), own_score=0.9, conversation=state)
    assert not plan.followup and plan.reason == "standalone"
    assert np.array_equal(plan.vector, EMBED.one(text))


def test_a_strong_unrelated_question_is_a_topic_switch_even_with_a_pronoun() -> None:
    state = conversation(turn("how do I export a notebook as pdf"))
    text = "does the pen battery last long if it charges overnight"
    plan = resolver(switch_threshold=0.3).run(text, EMBED.one(text), own_score=0.9, conversation=state)
    assert not plan.followup and plan.reason == "switch"


def test_context_can_be_turned_off() -> None:
    state = conversation(turn("what does the plus plan include"))
    plan = resolver(context=False).run("and the price?", EMBED.one("and the price?"), 0.2, state)
    assert not plan.followup


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="blend_weight"):
        ConversationSettings(blend_weight=0.0)
    with pytest.raises(ValueError, match="max_turns"):
        ConversationSettings(max_turns=0)
