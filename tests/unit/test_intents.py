"""Intents: the intents file is checked, and the router picks an intent only when it beats the FAQ."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from dialogue_fakes import FakeKnowledge, WordEmbedder, hit

from qa.config import PROJECT_ROOT, ConfigError, DialogueSettings
from qa.intents import (
    BUILT_IN,
    KNOWLEDGE,
    IntentRouter,
    IntentsError,
    entry_intents,
    leading_clause,
    load_intents,
    mixed_examples,
    topic_words,
    trailing_clause,
)

MESSAGES = {
    "clarify": "Did you mean {first} or {second}?",
    "clarify_deny": "Please rephrase.",
    "offer_human": "Shall I get a person?",
    "offer_declined": "OK.",
}
INTENTS = {
    "greeting": {"examples": ["hello there", "good morning"], "replies": ["Hello!", "Hi!"]},
    "handoff": {"examples": ["talk to a human agent"], "replies": ["Handing over."], "margin": -0.5},
    "affirm": {"examples": ["yes", "yes please"], "replies": ["OK."]},
    "deny": {"examples": ["no", "no thanks"], "replies": ["Fine."]},
}


def write(tmp_path: Path, intents: object = None, messages: object = None, **extra: object) -> Path:
    path = tmp_path / "intents.yaml"
    data = {"intents": INTENTS if intents is None else intents, "messages": MESSAGES if messages is None else messages, **extra}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def router(tmp_path: Path, **settings: object) -> IntentRouter:
    values = {"intent_threshold": 0.6, "intent_margin": 0.05, **settings}
    return IntentRouter(load_intents(write(tmp_path)), WordEmbedder(), DialogueSettings(**values))


def test_shipped_intents_file_has_the_built_in_intents_with_examples_and_variants() -> None:
    catalog = load_intents(PROJECT_ROOT / "configs" / "intents.yaml")
    names = {intent.name for intent in catalog.intents}
    assert set(BUILT_IN) <= names
    for intent in catalog.intents:
        assert len(intent.examples) >= 15, intent.name
        assert len(intent.replies) >= 2, intent.name
        assert len(set(intent.examples)) == len(intent.examples), intent.name
    assert catalog.get("complaint").offer_human


def test_an_intent_without_replies_is_an_error_naming_it_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"greeting": {"examples": ["hi"]}})
    with pytest.raises(IntentsError) as error:
        load_intents(path)
    assert "greeting" in str(error.value) and "replies" in str(error.value) and str(path) in str(error.value)
    assert isinstance(error.value, ConfigError)


@pytest.mark.parametrize(
    ("intents", "messages", "fragment"),
    [
        ({"greeting": {"examples": ["hi"], "replies": ["Hi"], "colour": "red"}}, None, "colour"),
        ({"greeting": {"examples": [], "replies": ["Hi"]}}, None, "examples"),
        ({"greeting": {"examples": ["hi"], "replies": ["Hi"], "margin": "big"}}, None, "margin"),
        ({"greeting": {"examples": ["hi"], "replies": ["Hi"], "faq_ceiling": True}}, None, "faq_ceiling"),
        ({"greeting": ["hi"]}, None, "mapping"),
        ({}, None, "intents"),
        (None, {**MESSAGES, "offer_human": ""}, "offer_human"),
        (None, {**MESSAGES, "clarify": "Did you mean {one}?"}, "clarify"),
        ({"greeting": {"examples": ["hi"], "replies": ["Hi"], "patterns": "^hi"}}, None, "patterns"),
        ({"greeting": {"examples": ["hi"], "replies": ["Hi"], "patterns": ["(hi"]}}, None, r"greeting.*\(hi.*not a regular expression"),
    ],
)
def test_malformed_intents_files_are_rejected(tmp_path: Path, intents: object, messages: object, fragment: str) -> None:
    with pytest.raises(IntentsError, match=fragment):
        load_intents(write(tmp_path, intents, messages))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IntentsError, match="cannot read"):
        load_intents(tmp_path / "absent.yaml")


def test_small_talk_is_routed_to_its_intent(tmp_path: Path) -> None:
    route = router(tmp_path)
    embed = route.embedder.one
    match = route.run(embed("hello there"), faq_score=0.2)
    assert match is not None and match.name == "greeting" and match.score == pytest.approx(1.0)
    assert route.reply("greeting") in ("Hello!", "Hi!")


def test_a_question_far_from_every_example_goes_to_the_knowledge_base(tmp_path: Path) -> None:
    route = router(tmp_path)
    assert route.run(route.embedder.one("how much does the plus plan cost"), faq_score=0.3) is None


def test_the_faq_wins_when_it_matches_as_well_as_the_intent(tmp_path: Path) -> None:
    route = router(tmp_path, faq_ceiling=2.0)
    vector = route.embedder.one("hello there")
    assert route.run(vector, faq_score=0.99) is None
    assert route.run(vector, faq_score=0.9) is not None  # beats the FAQ by the 0.05 margin


def test_no_intent_wins_where_the_faq_answers_confidently(tmp_path: Path) -> None:
    route = router(tmp_path, faq_ceiling=0.55)
    vector = route.embedder.one("hello there")
    assert route.run(vector, faq_score=0.55) is None
    assert route.run(vector, faq_score=0.54).name == "greeting"


def test_an_intent_can_set_its_own_faq_ceiling(tmp_path: Path) -> None:
    intents = {**INTENTS, "handoff": {**INTENTS["handoff"], "faq_ceiling": 0.9}}
    catalog = load_intents(write(tmp_path, intents))
    route = IntentRouter(catalog, WordEmbedder(), DialogueSettings(intent_threshold=0.6, faq_ceiling=0.55))
    assert catalog.get("handoff").faq_ceiling == 0.9 and catalog.get("greeting").faq_ceiling is None
    assert route.run(route.embedder.one("talk to a human agent"), faq_score=0.8).name == "handoff"
    assert route.run(route.embedder.one("talk to a human agent"), faq_score=0.9) is None
    assert route.run(route.embedder.one("hello there"), faq_score=0.6) is None


def test_a_negative_margin_lets_an_intent_win_over_a_closer_faq_entry(tmp_path: Path) -> None:
    route = router(tmp_path, faq_ceiling=2.0)
    vector = route.embedder.one("talk to a human agent")
    assert route.run(vector, faq_score=1.2).name == "handoff"  # margin -0.5 from the file
    assert route.run(vector, faq_score=1.6) is None


def test_the_threshold_is_applied_to_the_intent_score(tmp_path: Path) -> None:
    vector = WordEmbedder().one("good morning my friend")  # shares 2 of 4 words with an example
    assert router(tmp_path, intent_threshold=0.6).run(vector, faq_score=0.0) is not None
    assert router(tmp_path, intent_threshold=0.8).run(vector, faq_score=0.0) is None


def test_neighbours_average_the_nearest_examples(tmp_path: Path) -> None:
    vector = WordEmbedder().one("yes")
    one, two = router(tmp_path).scores(vector), router(tmp_path, neighbours=2).scores(vector)
    assert one["affirm"] == pytest.approx(1.0)
    assert two["affirm"] == pytest.approx((1.0 + 1 / 2**0.5) / 2, abs=1e-5)


def test_match_can_be_limited_to_some_intents(tmp_path: Path) -> None:
    route = router(tmp_path)
    vector = route.embedder.one("hello there")
    assert route.match(vector, among=("affirm", "deny")) is None
    assert route.match(route.embedder.one("no thanks"), among=("affirm", "deny")).name == "deny"


def test_examples_are_embedded_once_per_model_and_file(tmp_path: Path) -> None:
    intents = {**INTENTS, "goodbye": {"examples": [f"see you {tmp_path.name}"], "replies": ["Bye"]}}
    catalog = load_intents(write(tmp_path, intents))
    embedder = WordEmbedder()
    first = IntentRouter(catalog, embedder, DialogueSettings())
    second = IntentRouter(catalog, embedder, dataclasses.replace(DialogueSettings(), intent_threshold=0.7))
    first.scores(embedder.one("hi"))
    second.scores(embedder.one("hi"))
    assert embedder.calls == 3  # two turns and one embedding of the examples


def test_messages_are_filled_in(tmp_path: Path) -> None:
    route = router(tmp_path)
    assert route.message("clarify", first="A", second="B") == "Did you mean A or B?"
    assert route.message("offer_human") == "Shall I get a person?"


def test_the_classifier_sends_knowledge_base_questions_to_the_knowledge_base(tmp_path: Path) -> None:
    embedder = WordEmbedder()
    catalog = load_intents(write(tmp_path))
    question = "no thanks fee for a cancelled plan"  # shares words with the deny example "no thanks"
    alone = IntentRouter(catalog, embedder, DialogueSettings())
    knowledge = FakeKnowledge(embedder, [question, "cancelled plan fee refund", "plan fee"])
    informed = IntentRouter(catalog, embedder, DialogueSettings(), knowledge)
    assert alone.classify(embedder.one(question)) == "deny"
    assert informed.classify(embedder.one(question)) is None
    assert informed.classify(embedder.one("no thanks")) == "deny"


def test_the_classifier_is_trained_again_only_when_the_knowledge_base_changes(tmp_path: Path) -> None:
    embedder = WordEmbedder()
    knowledge = FakeKnowledge(embedder, ["plan fee", "refund policy"])
    route = IntentRouter(load_intents(write(tmp_path)), embedder, DialogueSettings(), knowledge)
    first = route.classifier()
    assert route.classifier() is first and knowledge.samples == 1
    knowledge.name = "g2"
    assert route.classifier() is not first and knowledge.samples == 2
    assert KNOWLEDGE in route.classifier().classes_


@pytest.mark.parametrize(
    ("message", "clause"),
    [
        ("thanks, the pen works again", "thanks"),
        ("yes, on Android", "yes"),
        ("Hello! I'm on the Plus plan", "Hello"),
        ("no, not the pen. I meant the app", "no"),
        ("hi, how do I sync my notes?", None),  # the rest is a question: for the knowledge base
        ("ok, what about the Team plan", None),
        ("thanks, is there a student discount", None),
        ("no thanks", None),  # one clause
        ("how much is it?", None),
    ],
)
def test_the_leading_clause_is_split_off_only_before_a_statement(message: str, clause: str | None) -> None:
    assert leading_clause(message) == clause


@pytest.mark.parametrize(
    ("message", "clause"),
    [
        ("the Mac app crashed again. unbelievable", "unbelievable"),
        ("going to charge my pen now, bye!", "bye"),
        ("lost half my notebooks, I'm furious", "I'm furious"),
        ("my notes won't sync, can you help?", None),  # a question
        ("how do I export, step by step", None),  # a question without its question mark
        ("the pen works again, thank you so much for the help", None),  # a last clause of 8 words
        ("no clause here", None),
    ],
)
def test_the_trailing_clause_is_split_off_only_after_a_statement_and_when_short(message: str, clause: str | None) -> None:
    assert trailing_clause(message, max_words=4) == clause


def test_yes_no_and_goodbye_are_not_reached_without_topic_words(tmp_path: Path) -> None:
    catalog = load_intents(PROJECT_ROOT / "configs" / "intents.yaml")
    assert {intent.name for intent in catalog.intents if not intent.topical} == {"affirm", "deny", "goodbye"}
    custom = load_intents(write(tmp_path, {**INTENTS, "deny": {**INTENTS["deny"], "topical": False}}))
    assert {intent.name: intent.topical for intent in custom.intents} == {"greeting": True, "handoff": True, "affirm": True, "deny": False}


def test_intents_that_may_end_a_message_are_marked_trailing() -> None:
    catalog = load_intents(PROJECT_ROOT / "configs" / "intents.yaml")
    assert {intent.name for intent in catalog.intents if intent.trailing} == {"thanks", "goodbye", "complaint"}


@pytest.mark.parametrize(
    ("message", "clause"),
    [
        ("thanks, my notes show up on the laptop again", "thanks"),  # a remark of 8 words
        ("Hi, I have been overcharged for my payment last Saturday", None),  # a request of 9 words
    ],
)
def test_the_leading_clause_is_split_off_only_before_a_short_statement(message: str, clause: str | None) -> None:
    assert leading_clause(message, max_rest_words=8) == clause


def test_product_names_are_left_out_whole_and_with_their_possessive(tmp_path: Path) -> None:
    catalog = load_intents(write(tmp_path, product_names=["Acme", "Acme Pen"]))
    assert catalog.without_product_names("thanks ACME support!") == "thanks support!"
    assert catalog.without_product_names("is this Acme's bot?") == "is this bot?"
    assert catalog.without_product_names("the Acme Pen broke, Acme") == "the broke"
    assert catalog.without_product_names("Acmeville is nice") == "Acmeville is nice"  # whole words only


def test_the_intent_whose_pattern_matches_earliest_wins(tmp_path: Path) -> None:
    intents = {
        **INTENTS,
        "greeting": {**INTENTS["greeting"], "patterns": [r"^\W*h(?:i|ello)\b"]},
        "handoff": {**INTENTS["handoff"], "patterns": [r"\breal person\b", r"\bagent\b"]},
        "affirm": {**INTENTS["affirm"], "patterns": [r"\bare you a real person\b"]},
    }
    catalog = load_intents(write(tmp_path, intents))
    assert catalog.by_pattern("I need a REAL PERSON now") == "handoff"  # case-insensitive, anywhere
    assert catalog.by_pattern("hi, are you a real person?") == "greeting"  # "hi" starts first
    assert catalog.by_pattern("are you a real person?") == "affirm"  # starts before "real person"
    assert catalog.by_pattern("hi there agent") == "greeting"
    assert catalog.by_pattern("high fees on my agent account") == "handoff"  # "high" is not "hi"
    assert catalog.by_pattern("how do I pair the pen?") is None


def test_the_shipped_patterns_leave_questions_to_the_knowledge_base() -> None:
    catalog = load_intents(PROJECT_ROOT / "configs" / "intents.yaml")
    routed = {
        "can you help with Skylark Pen problems?": "bot_capabilities",
        "are you a real person or a bot?": "bot_capabilities",
        "let me talk to someone real": "handoff",
        "thanks for explaining the Plus plan": "thanks",
        "the pen is a total waste of money": "complaint",
        "no thanks": "deny",  # a thank-you after a "no" declines
        "yeah I'm on the Mac app": "affirm",
    }
    assert {message: catalog.by_pattern(message) for message in routed} == routed
    for question in ("can you help me export my notes?", "how do I reach a human at support", "thanks, and how do I sync?", "no sync on my iPad"):
        assert catalog.by_pattern(question) is None, question


def test_product_names_must_be_a_list_of_names(tmp_path: Path) -> None:
    with pytest.raises(IntentsError, match="product_names"):
        load_intents(write(tmp_path, product_names="Acme"))


def test_topic_words_are_in_enough_stored_texts_and_in_no_intent_example() -> None:
    documents = ["Sync fails on the Mac", "sync conflicts", "The pen syncs", "Agent hours for sync"]
    assert topic_words(documents, ["talk to a human agent"], 2) == {"sync", "the"}
    assert topic_words(documents, ["the end"], 3) == {"sync"}  # "sync" in three texts, case-folded
    assert topic_words(documents, [], 0) == frozenset()  # 0: no topic words


@pytest.mark.parametrize(
    ("message", "most", "rest"),
    [
        ("talk to a human agent about Sync!", 2, "talk to a human agent about !"),
        ("sync the plan, agent", 2, "the , agent"),  # two topic words
        ("sync the plan, agent", 1, None),  # too many for the limit: a question for the knowledge base
        ("talk to a human agent", 2, None),  # no topic word
        ("sync plan", 2, None),  # nothing left
        ("hello there, how do I sync?", 2, None),  # a question after a leading clause
    ],
)
def test_a_message_without_its_few_topic_words(tmp_path: Path, message: str, most: int, rest: str | None) -> None:
    embedder = WordEmbedder()
    knowledge = FakeKnowledge(embedder, ["sync plan", "plan sync", "sync issues", "plan prices"])
    route = IntentRouter(load_intents(write(tmp_path)), embedder, DialogueSettings(topic_words_max=most, topic_words_min_count=2), knowledge)
    assert route.without_topic_words(message) == rest


def test_mixed_examples_are_unit_vectors_that_lean_to_their_example() -> None:
    examples, knowledge = np.eye(5)[:2], np.eye(5)[2:]
    mixed, labels = mixed_examples(examples, ["thanks", "handoff"], knowledge, 3, 0.7)
    assert mixed.shape == (6, 5) and labels == ["thanks"] * 3 + ["handoff"] * 3
    assert np.allclose(np.linalg.norm(mixed, axis=1), 1.0)
    for vector, example in zip(mixed, np.repeat(examples, 3, axis=0)):
        assert vector @ example > (knowledge @ vector).max() > 0  # mostly the example, partly a stored text
    assert np.array_equal(mixed_examples(examples, ["thanks", "handoff"], knowledge, 3, 0.7)[0], mixed)  # seeded
    assert mixed_examples(examples, ["thanks", "handoff"], knowledge, 0, 0.7)[0].shape == (0, 5)  # 0: none


def test_entries_that_answer_an_intent_themselves_are_found_by_the_classifiers_probabilities() -> None:
    classes = [KNOWLEDGE, "handoff", "greeting"]
    probabilities = np.array([[0.8, 0.2, 0.0], [0.5, 0.1, 0.4], [0.6, 0.35, 0.05], [0.9, 0.05, 0.05]])
    found = entry_intents(probabilities, classes, ["contact", "hello-page", "contact", "pricing"], 0.3)
    assert found == {"contact": {"handoff"}, "hello-page": {"greeting"}}


def about_topic_router(tmp_path: Path, intents: dict | None = None, **settings: object) -> tuple[IntentRouter, WordEmbedder]:
    embedder = WordEmbedder()
    stored = ["sync plan", "plan sync issues", "sync issues on the mac", "plan prices", "talk to a human agent"]
    route = IntentRouter(load_intents(write(tmp_path, intents)), embedder, DialogueSettings(**settings), FakeKnowledge(embedder, stored))
    return route, embedder


@pytest.mark.parametrize(
    ("message", "best", "settings", "intent"),
    [
        ("talk to a human agent about my sync plan", hit("q0", 0.5), {}, "handoff"),  # likely enough, if not the most
        ("talk to a human agent about my sync plan", hit("q0", 0.5), {"mixed_examples": 0}, None),  # off
        ("talk to a human agent about my sync plan", hit("q0", 0.75), {}, None),  # the FAQ is too close
        ("talk to a human agent about my sync plan", hit("q4", 0.5), {}, None),  # that entry answers handoff itself
        ("sync issues on the mac", hit("q2", 0.5), {}, None),  # a question for the knowledge base
        ("good morning from the mac", None, {}, "greeting"),
        ("good morning from the mac", None, {"about_topic_score": 0.9}, None),  # the intent's own score is too low
    ],
)
def test_small_talk_about_a_topic_is_learned_from_mixed_examples(
    tmp_path: Path, message: str, best: object, settings: dict, intent: str | None
) -> None:
    route, embedder = about_topic_router(tmp_path, **settings)
    vector = embedder.one(message)
    match = route.about_topic(vector, best)
    assert (match.name if match else None) == intent
    assert route.classify(vector) != "handoff"  # the classifier's own pick is the knowledge base or the greeting
    assert route.learned().entry_intents == {"q4": {"handoff"}}  # the stored "talk to a human agent"


def test_intents_not_said_about_a_topic_are_not_reached_as_small_talk_about_one(tmp_path: Path) -> None:
    route, embedder = about_topic_router(tmp_path, {**INTENTS, "greeting": {**INTENTS["greeting"], "topical": False}})
    assert route.about_topic(embedder.one("good morning from the mac"), None) is None
