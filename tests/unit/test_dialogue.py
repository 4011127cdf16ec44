"""The turn logic: routing, "Did you mean A or B?" and its answers, the offer of a person."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml
from dialogue_fakes import FakeKnowledge, WordEmbedder, hit

from qa.config import AnswerSettings, DialogueSettings, Settings
from qa.dialogue import Dialogue
from qa.reader import ExtractiveReader
from qa.timing import StageTimer
from qa.types import Hit, Reply

INTENTS = {
    "greeting": {"examples": ["hello there"], "replies": ["Hello!"]},
    "handoff": {"examples": ["talk to a human agent"], "replies": ["Handing over."]},
    "complaint": {"examples": ["this is useless"], "replies": ["Sorry. Want a person?"], "offer_human": True, "trailing": True},
    "affirm": {"examples": ["yes", "yes please"], "replies": ["OK."]},
    "deny": {"examples": ["no", "no thanks"], "replies": ["Fine."]},
}
MESSAGES = {
    "clarify": "Did you mean {first} or {second}?",
    "clarify_deny": "Please rephrase.",
    "offer_human": "Shall I get a person?",
    "offer_declined": "Still here.",
}
PLUS = hit("plus-price", 0.80, "How much does the Plus plan cost?")
TEAM = hit("team-price", 0.79, "How much does the Team plan cost?")
FAR = hit("pen-battery", 0.30, "How long does the pen battery last?")


class Script:
    """The hits the fake retriever gives, set by each test before a turn."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.retrieved = 0
        self.classified: list[bool] = []  # whether each retrieval let the entry classifier read its vector

    def search(self, vector: np.ndarray) -> Sequence[Hit]:
        return self.hits

    def retrieve(self, text: str, vector: np.ndarray, timer: StageTimer, classify: bool) -> Sequence[Hit]:
        self.retrieved += 1
        self.classified.append(classify)
        return self.hits


class Bot:
    """A Dialogue with a fake embedder and retriever, and the extractive reader, as the pipeline wires them."""

    def __init__(
        self,
        tmp_path: Path,
        product_names: Sequence[str] = (),
        knowledge: FakeKnowledge | None = None,
        intents: dict | None = None,
        **dialogue: object,
    ) -> None:
        path = tmp_path / "intents.yaml"
        data = {"intents": intents or INTENTS, "messages": MESSAGES, "product_names": list(product_names)}
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        settings = Settings(dialogue=DialogueSettings(intents=path, **dialogue))
        self.script = Script()
        self.embedder = WordEmbedder()
        self.dialogue = Dialogue(settings, self.embedder, self.script.search, self.script.retrieve, knowledge)
        self.reader = ExtractiveReader(AnswerSettings())
        self.threshold = settings.threshold

    def say(self, text: str, hits: list[Hit] | None = None, conversation: str | None = "c1") -> Reply:
        self.script.hits = hits if hits is not None else self.script.hits
        turn = self.dialogue.open(text, self.embedder.one(text), conversation, StageTimer())
        reply = turn.reply or self.reader.run(turn.hits, self.threshold)
        return self.dialogue.close(turn, reply)


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    return Bot(tmp_path)


def faq_matches_all_but(bot: Bot, *texts: str) -> None:
    """The bot's FAQ search finds the Plus entry for every text but `texts` themselves."""
    vectors = bot.embedder.run(list(texts))
    bot.dialogue.search = lambda vector: [] if float(np.max(vectors @ vector)) > 0.99 else [PLUS]


@pytest.mark.parametrize(
    ("message", "leading_clause", "intent"),
    [
        ("hello there, Plus plan cost", False, "faq"),  # the whole message is close to the FAQ entry
        ("hello there, Plus plan cost", True, "greeting"),  # its first clause is a greeting, the rest no question
        ("hello there, how much does Plus cost?", True, "faq"),  # the rest is a question
        ("hello there, I was charged twice for my Plus plan last month", True, "faq"),  # the rest is a long request
    ],
)
def test_a_leading_clause_before_a_statement_is_routed(tmp_path: Path, message: str, leading_clause: bool, intent: str) -> None:
    bot = Bot(tmp_path, leading_clause=leading_clause)
    faq_matches_all_but(bot, "hello there")
    assert bot.say(message, [PLUS]).intent == intent


@pytest.mark.parametrize(
    ("confidence", "probability", "ceilings", "intent", "retrievals"),
    [
        (0.97, 0.0, (0.95, 0.5), "faq", 2),  # the whole message is answered confidently: the check's retrieval, then the turn's
        (0.90, 0.0, (0.95, 0.5), "greeting", 1),  # ... not confidently enough
        (0.90, 0.6, (0.95, 0.5), "faq", 2),  # the entry classifier claims the message for the best entry
        (0.90, 0.4, (0.95, 0.5), "greeting", 1),  # ... not likely enough
        (0.97, 0.6, (0.95, 1.01), "faq", 2),  # the classifier's check alone is off
        (0.97, 0.6, (1.01, 1.01), "greeting", 0),  # both are off: no retrieval for the check
    ],
)
def test_a_retry_loses_where_the_knowledge_base_claims_the_whole_message(
    tmp_path: Path, confidence: float, probability: float, ceilings: tuple[float, float], intent: str, retrievals: int
) -> None:
    bot = Bot(tmp_path, retry_answer_ceiling=ceilings[0], retry_entry_probability=ceilings[1])
    faq_matches_all_but(bot, "hello there")
    claimed = dataclasses.replace(PLUS, rerank_score=confidence, entry_probability=probability)
    assert bot.say("hello there, Plus plan cost", [claimed]).intent == intent
    assert bot.script.retrieved == retrievals


@pytest.mark.parametrize(
    ("confidence", "intent", "retrievals"),
    [
        (0.90, "handoff", 1),  # the pattern wins over the classifier, which sends the message to the knowledge base
        (0.97, "faq", 2),  # ... unless the knowledge base answers the whole message confidently
    ],
)
def test_a_message_an_intent_pattern_finds_is_that_intent_unless_the_knowledge_base_claims_it(
    tmp_path: Path, confidence: float, intent: str, retrievals: int
) -> None:
    intents = {**INTENTS, "handoff": {**INTENTS["handoff"], "patterns": [r"\bspeak to (?:a|some)one\b"]}}
    bot = Bot(tmp_path, intents=intents)
    claimed = dataclasses.replace(PLUS, rerank_score=confidence)
    assert bot.say("Plus plan cost, can I speak to someone", [claimed]).intent == intent
    assert bot.script.retrieved == retrievals
    assert bot.say("Plus plan cost, can I speak to a manager", [claimed]).intent == "faq"  # no pattern found


@pytest.mark.parametrize(
    ("message", "max_words", "intent"),
    [
        ("Plus plan cost, this is useless", 4, "complaint"),  # a complaint may end a message
        ("Plus plan cost, this is useless", 0, "faq"),  # the last clause is never routed
        ("Plus plan cost, this is useless?", 4, "faq"),  # a question is for the knowledge base
        ("Plus plan cost, hello there", 4, "faq"),  # a greeting may not end a message
        ("yes, Plus plan cost, this is useless", 4, "complaint"),  # the closing wins over the leading clause
        ("yes, Plus plan cost, hello there", 4, "affirm"),  # ... but only a closing
    ],
)
def test_a_short_last_clause_is_routed_to_an_intent_that_may_end_a_message(
    tmp_path: Path, message: str, max_words: int, intent: str
) -> None:
    bot = Bot(tmp_path, trailing_clause_max_words=max_words)
    faq_matches_all_but(bot, "hello there", "this is useless", "yes")
    assert bot.say(message, [PLUS]).intent == intent


@pytest.mark.parametrize(("product_names", "intent"), [((), "faq"), (("Plus",), "greeting")])
def test_a_message_is_routed_again_without_the_product_names(tmp_path: Path, product_names: tuple[str, ...], intent: str) -> None:
    bot = Bot(tmp_path, product_names)
    faq_matches_all_but(bot, "hello there")
    assert bot.say("hello there Plus Plus Plus", [PLUS]).intent == intent


@pytest.mark.parametrize(
    ("settings", "topical", "intent"),
    [
        ({}, True, "handoff"),
        ({"topic_words_max": 0}, True, "faq"),
        ({"topic_threshold": 0.99}, True, "faq"),
        ({}, False, "faq"),  # an intent marked `topical: false` is not reached this way
    ],
)
def test_a_message_is_routed_again_without_its_few_topic_words(tmp_path: Path, settings: dict, topical: bool, intent: str) -> None:
    embedder = WordEmbedder()
    knowledge = FakeKnowledge(embedder, ["sync fails", "sync conflicts", "sync on the plan"])
    intents = {**INTENTS, "handoff": {**INTENTS["handoff"], "topical": topical}}
    bot = Bot(tmp_path, knowledge=knowledge, intents=intents, topic_words_min_count=2, **settings)
    faq_matches_all_but(bot, "talk to a human agent about")
    assert bot.say("talk to a human agent about sync", [PLUS]).intent == intent


@pytest.mark.parametrize(
    ("settings", "intent"),
    [({}, "handoff"), ({"mixed_examples": 0}, "faq"), ({"about_topic_faq_ceiling": 0.6}, "faq")],
)
def test_small_talk_about_a_topic_is_routed_last_to_the_intent_the_classifier_finds_likely(
    tmp_path: Path, settings: dict, intent: str
) -> None:
    embedder = WordEmbedder()
    knowledge = FakeKnowledge(embedder, ["sync plan", "plan sync issues", "sync issues on the mac", "plan prices", "talk to a human agent"])
    bot = Bot(tmp_path, knowledge=knowledge, topic_words_max=0, **settings)
    close = hit("sync-plan", 0.6, "sync plan")
    assert bot.say("talk to a human agent about my sync plan", [close]).intent == intent


def test_small_talk_gets_the_intents_reply_without_retrieval(bot: Bot) -> None:
    reply = bot.say("hello there", [FAR])
    assert (reply.intent, reply.answer, reply.answered) == ("greeting", "Hello!", True)
    assert bot.script.retrieved == 0


def test_routing_off_sends_small_talk_to_the_knowledge_base(tmp_path: Path) -> None:
    reply = Bot(tmp_path, routing=False).say("hello there", [FAR])
    assert reply.intent == "out_of_scope"


def test_two_close_entries_get_a_clarification_with_both_options(bot: Bot) -> None:
    reply = bot.say("how much is it", [PLUS, TEAM])
    assert reply.intent == "clarify" and not reply.answered
    assert reply.answer == f"Did you mean {PLUS.question} or {TEAM.question}?"
    assert reply.options == (PLUS.question, TEAM.question)
    assert [source.id for source in reply.sources] == ["plus-price", "team-price"]


@pytest.mark.parametrize(
    ("answer", "chosen"),
    [("the second one", "team-price"), ("2", "team-price"), ("the first", "plus-price"), ("yes", "plus-price"), ("team", "team-price")],
)
def test_the_answer_to_a_clarification_picks_an_option(bot: Bot, answer: str, chosen: str) -> None:
    bot.say("how much is it", [PLUS, TEAM])
    reply = bot.say(answer, [FAR])
    assert reply.intent == "faq" and reply.sources[0].id == chosen


def test_no_to_a_clarification_asks_to_rephrase(bot: Bot) -> None:
    bot.say("how much is it", [PLUS, TEAM])
    reply = bot.say("no thanks", [FAR])
    assert (reply.intent, reply.answer) == ("deny", "Please rephrase.")


def test_a_restatement_that_finds_an_option_is_answered_without_asking_again(bot: Bot) -> None:
    bot.say("how much is it", [PLUS, TEAM])
    reply = bot.say("I mean the price of the plan for a whole company with many people", [TEAM, PLUS])
    assert reply.intent == "faq" and reply.sources[0].id == "team-price"


def test_a_one_off_question_is_answered_rather_than_clarified(bot: Bot) -> None:
    reply = bot.say("how much is it", [PLUS, TEAM], conversation=None)
    assert reply.intent == "faq" and reply.sources[0].id == "plus-price"


def test_clarification_needs_two_confident_entries(bot: Bot) -> None:
    low = dataclasses.replace(TEAM, score=0.5)
    assert bot.say("how much is it", [PLUS, low]).intent == "faq"


def test_repeated_misses_end_with_the_offer_of_a_person_and_yes_hands_over(bot: Bot) -> None:
    first = bot.say("what is the weather", [FAR])
    second = bot.say("who won the match yesterday", [FAR])
    assert first.intent == second.intent == "out_of_scope"
    assert "Shall I get a person?" not in first.answer and second.answer.endswith("Shall I get a person?")
    reply = bot.say("yes please")
    assert (reply.intent, reply.answer) == ("handoff", "Handing over.")


def test_declining_the_offer_is_acknowledged(bot: Bot) -> None:
    bot.say("what is the weather", [FAR])
    bot.say("who won the match yesterday", [FAR])
    reply = bot.say("no")
    assert (reply.intent, reply.answer) == ("deny", "Still here.")
    assert bot.say("no").answer == "Fine."  # the offer was answered: a second "no" is plain small talk


def test_an_answer_resets_the_streak_of_misses(bot: Bot) -> None:
    bot.say("what is the weather", [FAR])
    bot.say("how much is the plus plan", [PLUS])
    assert "person" not in bot.say("who won the match yesterday", [FAR]).answer


def test_no_offer_of_a_person_to_one_off_questions(bot: Bot) -> None:
    for _ in range(3):
        reply = bot.say("what is the weather", [FAR], conversation=None)
    assert "person" not in reply.answer


def test_a_complaint_offers_a_person(bot: Bot) -> None:
    assert bot.say("this is useless", [FAR]).intent == "complaint"
    assert bot.say("yes").intent == "handoff"


def test_a_new_question_after_an_offer_is_answered_as_usual(bot: Bot) -> None:
    bot.say("this is useless", [FAR])
    reply = bot.say("how much does the plus plan cost", [PLUS])
    assert reply.intent == "faq" and reply.sources[0].id == "plus-price"


def test_turns_are_recorded_with_their_embeddings_and_answers(bot: Bot) -> None:
    bot.say("hello there", [FAR])
    bot.say("how much does the plus plan cost", [PLUS])
    turns = bot.dialogue.conversations.get("c1").turns
    assert [t.intent for t in turns] == ["greeting", "faq"]
    assert turns[1].answer.id == "plus-price"
    assert np.allclose(turns[1].vector, bot.embedder.one("how much does the plus plan cost"))


def test_a_follow_up_is_retrieved_without_the_entry_classifier(bot: Bot) -> None:
    bot.say("how much is Plus", [PLUS])
    bot.say("and for teams?", [FAR])  # weak on its own: it follows up on Plus
    latest = bot.dialogue.conversations.get("c1").turns[-1]
    assert not np.allclose(latest.context_vector, latest.vector), "retrieved with the blend of both turns"
    assert bot.script.classified == [True, False], "a follow-up's vector mixes turns: the classifier learned single questions"
