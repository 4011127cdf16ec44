"""Dialogue on the demo FAQ with the packaged bi-encoder and a real Chroma: routing, hand-off,
follow-up questions resolved from the server-side conversation, topic switches, bounded state."""

from __future__ import annotations

import dataclasses
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import yaml

from qa.cli import main
from qa.config import Settings
from qa.pipeline import ChatPipeline
from tests.conftest import DEMO_KB

pytestmark = pytest.mark.integration

FAQ = DEMO_KB / "faq.yaml"


@pytest.fixture(scope="module")
def demo_settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over an index of the demo FAQ, built once for the module."""
    return base_settings.replace(data_dir=tmp_path_factory.mktemp("dialogue") / "data")


@pytest.fixture(scope="module")
def demo_pipeline(demo_settings: Settings, embedder) -> ChatPipeline:
    pipeline = ChatPipeline(demo_settings, embedder=embedder)
    pipeline.indexer.ingest([str(FAQ)])
    pipeline.check_ready()
    return pipeline


def fresh(demo_pipeline: ChatPipeline, **conversation: object) -> ChatPipeline:
    """A new pipeline (new conversations) over the same index, with some conversation settings changed."""
    settings = demo_pipeline.settings
    settings = settings.replace(conversation=dataclasses.replace(settings.conversation, **conversation))
    return ChatPipeline(settings, embedder=demo_pipeline.embedder)


def without_patterns(pipeline: ChatPipeline, directory: Path) -> Path:
    """A copy of the pipeline's intents file without its patterns: the classifier and its tries alone."""
    intents = yaml.safe_load(pipeline.settings.dialogue.intents.read_text(encoding="utf-8"))
    for fields in intents["intents"].values():
        fields.pop("patterns", None)
    path = directory / "intents.yaml"
    path.write_text(yaml.safe_dump(intents), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("hey, good to see you", "greeting"),
        ("could I please chat with an actual human being?", "handoff"),
        ("thank you, that sorted it out", "thanks"),
        ("what sort of things can you help with?", "bot_capabilities"),
        ("thanks, my notebooks show up on the laptop again", "thanks"),  # by its leading clause
        ("nope, it's the Android app I meant", "deny"),
        ("many thanks Skylark Notes team", "thanks"),  # routed again without the product's name
    ],
)
def test_small_talk_and_hand_off_are_routed(demo_pipeline: ChatPipeline, message: str, intent: str) -> None:
    reply = demo_pipeline.ask(message)
    assert reply.intent == intent
    assert reply.sources == () and reply.answer


@pytest.mark.parametrize(("most", "intent"), [(2, "handoff"), (0, "faq")])
def test_small_talk_naming_a_topic_is_routed_without_its_topic_words(
    demo_pipeline: ChatPipeline, tmp_path: Path, most: int, intent: str
) -> None:
    intents = without_patterns(demo_pipeline, tmp_path)  # "need a human" is also a pattern of `handoff`
    dialogue = dataclasses.replace(demo_pipeline.settings.dialogue, topic_words_max=most, intents=intents)
    pipeline = ChatPipeline(demo_pipeline.settings.replace(dialogue=dialogue), demo_pipeline.store, demo_pipeline.embedder)
    assert pipeline.ask("I need a human to look at my sync problem").intent == intent


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("I need a human to look at my Plus billing", "handoff"),
        ("hi from the android app", "greeting"),
        ("so you're a chatbot for the notes app?", "bot_capabilities"),
        ("the app keeps crashing and I'm sick of it", "complaint"),
    ],
)
def test_small_talk_about_a_topic_goes_to_the_intent_the_classifier_finds_likely(
    demo_pipeline: ChatPipeline, tmp_path: Path, message: str, intent: str
) -> None:
    settings = demo_pipeline.settings
    settings = settings.replace(dialogue=dataclasses.replace(settings.dialogue, intents=without_patterns(demo_pipeline, tmp_path)))
    assert ChatPipeline(settings, demo_pipeline.store, demo_pipeline.embedder).ask(message).intent == intent
    dialogue = dataclasses.replace(settings.dialogue, mixed_examples=0)  # no made-up small talk: no last try
    pipeline = ChatPipeline(settings.replace(dialogue=dialogue), demo_pipeline.store, demo_pipeline.embedder)
    assert pipeline.ask(message).intent in ("faq", "out_of_scope")


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("Can you help with Skylark Pen problems?", "bot_capabilities"),
        ("Thanks for explaining the Plus plan", "thanks"),
        ("the pen is a total waste of money", "complaint"),
    ],
)
def test_small_talk_an_intent_pattern_finds_is_routed_to_that_intent(
    demo_pipeline: ChatPipeline, tmp_path: Path, message: str, intent: str
) -> None:
    assert demo_pipeline.ask(message).intent == intent
    dialogue = dataclasses.replace(demo_pipeline.settings.dialogue, intents=without_patterns(demo_pipeline, tmp_path))
    pipeline = ChatPipeline(demo_pipeline.settings.replace(dialogue=dialogue), demo_pipeline.store, demo_pipeline.embedder)
    assert pipeline.ask(message).intent in ("faq", "out_of_scope")  # the classifier alone leaves it to the knowledge base


@pytest.mark.parametrize(("ceiling", "routed"), [(0.95, True), (0.8, False)])
def test_a_retry_loses_to_a_confident_answer_to_the_whole_message(demo_pipeline: ChatPipeline, ceiling: float, routed: bool) -> None:
    message = "yes, it's the Skylark Pen"  # "yes" by its leading clause; the re-ranker gives the pen entry about 0.9
    dialogue = dataclasses.replace(demo_pipeline.settings.dialogue, retry_answer_ceiling=ceiling)
    pipeline = ChatPipeline(demo_pipeline.settings.replace(dialogue=dialogue), demo_pipeline.store, demo_pipeline.embedder)
    reply = pipeline.ask(message)
    assert (reply.intent == "affirm") == routed
    assert routed or reply.sources[0].id.startswith("pen")


@pytest.mark.parametrize(("probability", "routed"), [(0.6, True), (0.3, False)])
def test_a_retry_loses_where_the_entry_classifier_claims_the_whole_message(
    demo_pipeline: ChatPipeline, probability: float, routed: bool
) -> None:
    message = "hi, the pen won't pair"  # a greeting by its leading clause; the classifier gives the pairing entry about 0.43
    reranker = dataclasses.replace(demo_pipeline.settings.reranker, classifier_min_vectors=0)  # fitted on the demo FAQ too
    dialogue = dataclasses.replace(demo_pipeline.settings.dialogue, retry_entry_probability=probability)
    settings = demo_pipeline.settings.replace(reranker=reranker, dialogue=dialogue)
    reply = ChatPipeline(settings, demo_pipeline.store, demo_pipeline.embedder).ask(message)
    assert (reply.intent == "greeting") == routed
    assert routed or reply.sources[0].id == "pen-pairing"


def test_faq_questions_are_not_routed_away(demo_pipeline: ChatPipeline) -> None:
    reply = demo_pipeline.ask("How can I contact Skylark support by email?")
    assert reply.intent == "faq" and reply.sources[0].id == "contact-support"
    reply = demo_pipeline.ask("hi, how do I reset my password?")  # a greeting before a question
    assert reply.intent == "faq" and reply.sources[0].id == "reset-password"


def test_a_request_for_a_person_is_handed_off_even_where_the_contact_entry_is_close(demo_pipeline: ChatPipeline) -> None:
    message = "I want to speak with a real person"
    best = demo_pipeline.retriever.run(demo_pipeline.embedder.run([message])[0])[0]
    assert (best.entry_id, best.score >= demo_pipeline.settings.dialogue.faq_ceiling) == ("contact-support", True)
    assert demo_pipeline.ask(message).intent == "handoff"  # handoff's own faq_ceiling in the intents file
    assert demo_pipeline.ask("Do you have a hotline I could phone?").sources[0].id == "contact-support"


def test_a_follow_up_is_resolved_with_the_conversation(demo_pipeline: ChatPipeline) -> None:
    pipeline = fresh(demo_pipeline)
    assert pipeline.ask("What does the Team plan include?", "c1").sources[0].id == "team-features"
    assert pipeline.ask("how much does it cost?", "c1").sources[0].id == "team-price"
    assert pipeline.ask("how much does it cost?", "other").sources[0].id != "team-price"  # no context there
    without = fresh(demo_pipeline, context=False)
    without.ask("What does the Team plan include?", "c1")
    assert without.ask("how much does it cost?", "c1").sources[0].id != "team-price"


def test_a_topic_switch_is_not_blended(demo_pipeline: ChatPipeline) -> None:
    pipeline = fresh(demo_pipeline)
    pipeline.ask("How do I pair the Skylark Pen with my phone?", "c1")
    reply = pipeline.ask("How do I reset my password?", "c1")
    assert reply.sources[0].id == "reset-password"
    last = pipeline.dialogue.conversations.get("c1").turns[-1]
    assert np.array_equal(last.context_vector, last.vector)


def test_conversations_are_kept_apart_on_the_server(demo_pipeline: ChatPipeline) -> None:
    pipeline = fresh(demo_pipeline)
    pipeline.ask("What is the Skylark Pen?", "pen")
    pipeline.ask("What does the Team plan include?", "team")
    assert pipeline.ask("how much does it cost?", "pen").sources[0].id == "pen-price"
    assert pipeline.ask("how much does it cost?", "team").sources[0].id == "team-price"


def test_state_is_bounded_in_turns_and_conversations(demo_pipeline: ChatPipeline) -> None:
    pipeline = fresh(demo_pipeline, max_turns=2, max_conversations=2)
    for question in ("hello", "What is the Skylark Pen?", "how much does it cost?"):
        pipeline.ask(question, "a")
    assert [turn.text for turn in pipeline.dialogue.conversations.get("a").turns] == [
        "What is the Skylark Pen?",
        "how much does it cost?",
    ]
    pipeline.ask("hello", "b")
    pipeline.ask("hello", "c")
    assert "a" not in pipeline.dialogue.conversations and len(pipeline.dialogue.conversations) == 2


def test_qa_ask_history_replays_the_turns_first(demo_settings: Settings, demo_pipeline: ChatPipeline) -> None:
    def ask(*args: str) -> dict:
        output = io.StringIO()
        with redirect_stdout(output):
            assert main(["--data-dir", str(demo_settings.data_dir), "ask", *args, "--json"]) == 0
        return json.loads(output.getvalue())

    assert ask("how much does it cost?", "--history", "What is the Skylark Pen?")["sources"][0]["id"] == "pen-price"
    greeting = ask("hello!")
    assert greeting["intent"] == "greeting" and greeting["options"] == []


def test_the_intent_classifier_learns_the_knowledge_base_and_follows_its_changes(
    base_settings: Settings, embedder, tmp_path
) -> None:
    pipeline = ChatPipeline(base_settings.replace(data_dir=tmp_path / "data"), embedder=embedder)
    faq = tmp_path / "faq.yaml"
    entries = [{"id": "hours", "question": "When is support open?", "answer": "Weekdays, 8:00 to 20:00 UTC."}]
    faq.write_text(json.dumps({"entries": entries}), encoding="utf-8")
    pipeline.indexer.ingest([str(faq)])
    store, router = pipeline.store, pipeline.dialogue.router
    generation, classifier = store.generation(), router.classifier()
    assert generation is not None and len(store.sample_records(1)) == 1
    assert store.sample_records(1)[0].embedding.shape == (embedder.dimension,)
    assert len(store.sample_records(100)) == store.count()
    assert router.classify(embedder.run(["When is support open?"])[0]) is None
    entries.append({"id": "refund", "question": "Can I get a refund?", "answer": "Within 30 days."})
    faq.write_text(json.dumps({"entries": entries}), encoding="utf-8")
    pipeline.indexer.ingest([str(faq)])
    assert store.generation() != generation and router.classifier() is not classifier
