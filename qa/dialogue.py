"""The turn logic of a conversation: answers to the bot's own questions, intent routing, follow-up
context, "Did you mean A or B?", and the offer of a person after repeated misses.

`Dialogue.open` takes a turn as far as it goes without the reader: either the turn's reply is
decided (an intent's reply, a clarification) or the turn carries the hits the reader answers
from. `Dialogue.close` records the turn in its conversation and returns the final reply.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.config import Settings
from qa.conversation import ContextResolver, Conversation, ConversationStore, Pending, Turn
from qa.embedder import Embedder
from qa.intents import IntentMatch, IntentRouter, KnowledgeSource, leading_clause, load_intents, trailing_clause
from qa.text import words
from qa.timing import StageTimer
from qa.types import Hit, Reply, Source

Search = Callable[[np.ndarray], Sequence[Hit]]  # the bi-encoder's nearest entries to a vector
Retrieve = Callable[[str, np.ndarray, StageTimer, bool], Sequence[Hit]]  # the final (re-ranked) hits of a query

_SECOND = re.compile(r"\b(second|2nd|2|latter|last|other|bottom)\b")
_FIRST = re.compile(r"\b(first|1st|1|former|top)\b")
MAX_CHOICE_WORDS = 4  # longer answers to "Did you mean A or B?" are restatements, retrieved as usual
_STOPWORDS = frozenset("a an the of to in on for and or is are do does i my we our can how what with".split())


@dataclass
class DialogueTurn:
    """A turn in progress: the message, its conversation, and the reply or the hits to read."""

    text: str
    vector: np.ndarray
    conversation: Conversation
    one_off: bool
    context_vector: np.ndarray
    query_text: str = ""  # what the re-ranker and a generative reader read (contextualised for a follow-up)
    hits: Sequence[Hit] = ()
    reply: Reply | None = None


class Dialogue:
    """Keeps the conversations and decides what each turn does before the reader."""

    def __init__(
        self, settings: Settings, embedder: Embedder, search: Search, retrieve: Retrieve, knowledge: KnowledgeSource | None = None
    ) -> None:
        self.settings = settings
        self.conversations = ConversationStore(settings.conversation)
        self.context = ContextResolver(settings.conversation)
        intents = settings.dialogue.intents
        self.router = IntentRouter(load_intents(intents), embedder, settings.dialogue, knowledge) if intents else None
        self.search = search
        self.retrieve = retrieve

    def warm_up(self) -> None:
        """Embed the intents' examples and train the intent classifier now rather than in the first turn."""
        if self.router is not None:
            self.router.classifier()

    def open(self, text: str, vector: np.ndarray, conversation_id: str | None, timer: StageTimer) -> DialogueTurn:
        """Route the turn; its `reply` is set when it needs no reader, else its `hits` are."""
        conversation = self.conversations.get(conversation_id)
        turn = DialogueTurn(text, vector, conversation, conversation_id is None, vector, text)
        pending, conversation.pending = conversation.pending, None
        if pending is not None and self._answer_pending(turn, pending):
            return turn
        with timer.stage("retrieve"):
            own = self.search(vector)
        own_score = own[0].score if own else 0.0
        if self.router is not None and self.settings.dialogue.routing:
            with timer.stage("route"):
                match = self._route(text, vector, own, timer)
            if match is not None:
                turn.reply = self._intent_reply(match.name, match.score, conversation)
                return turn
        plan = self.context.run(text, vector, own_score, conversation)
        turn.context_vector, turn.query_text = plan.context_vector, plan.text
        turn.hits = self.retrieve(plan.text, plan.vector, timer, not plan.followup)  # a follow-up's vector mixes turns
        restated = pending is not None and turn.hits and turn.hits[0].entry_id in {o.entry_id for o in pending.options}
        if not restated:
            turn.reply = self._clarification(turn)
        return turn

    def _route(self, text: str, vector: np.ndarray, own: Sequence[Hit], timer: StageTimer) -> IntentMatch | None:
        """The intent one of whose patterns the message matches; else the intent of the message (`own`:
        its nearest FAQ entries), else of a retry (`_retry`). A pattern's or a retry's intent loses where
        the knowledge base claims the whole message: its best entry, re-ranked, has a confidence of
        `dialogue.retry_answer_ceiling` at least ("Help! Someone stole my card!" is no question about
        the bot, whatever its leading clause says), or the entry classifier gives that entry
        `dialogue.retry_entry_probability` at least (an intent data set's "what did you ask again")."""
        pattern = self.router.catalog.by_pattern(text)
        if pattern is not None:
            match = IntentMatch(pattern, 1.0)
        else:
            match = self.router.run(vector, own[0].score if own else 0.0)
            if match is not None:
                return match
            match = self._retry(text, vector, own)
        dialogue = self.settings.dialogue
        if match is None or min(dialogue.retry_answer_ceiling, dialogue.retry_entry_probability) > 1:
            return match
        hits = self.retrieve(text, vector, timer, True)
        claimed = bool(hits) and (
            hits[0].confidence >= dialogue.retry_answer_ceiling or hits[0].entry_probability >= dialogue.retry_entry_probability
        )
        return None if claimed else match

    def _retry(self, text: str, vector: np.ndarray, own: Sequence[Hit]) -> IntentMatch | None:
        """The intent of the message without the product names ("thanks Skylark"); else of its short
        last clause, for an intent that may end a message ("..., unbelievable"), or of its leading
        clause when the rest is a short statement ("yes, the pen one"): a closing at the end says what
        "ok, I'll try the web app, bye" is for; else of the message without its few topic words ("I
        need a human about my sync problem"), when that intent is clear; else the intent the
        classifier still finds likely for small talk about a topic. Product words pull small talk
        towards the knowledge base, whose texts are full of them."""
        plain = self.router.catalog.without_product_names(text)
        named = bool(plain) and plain != text
        plain_vector = self.router.embedder.run([plain])[0] if named else vector
        match = self._route_vector(plain_vector) if named else None
        if match is not None:
            return match
        dialogue = self.settings.dialogue
        last = trailing_clause(plain, dialogue.trailing_clause_max_words)
        closing = self._route_text(last) if last else None
        if closing is not None and self.router.catalog.get(closing.name).trailing:
            return closing
        clause = leading_clause(plain, dialogue.leading_clause_max_words) if dialogue.leading_clause else None
        match = (self._route_text(clause) if clause else None) or self._route_without_topic_words(text)
        if match is not None:
            return match
        plain_hits = self.search(plain_vector) if named else own
        return self.router.about_topic(plain_vector, plain_hits[0] if plain_hits else None)

    def _route_without_topic_words(self, text: str) -> IntentMatch | None:
        """The intent of the message without its few topic words, when that intent may be said about
        a topic (`topical`) and scores at least `dialogue.topic_threshold`."""
        rest = self.router.without_topic_words(text)
        match = self._route_text(rest) if rest else None
        if match is None or not self.router.catalog.get(match.name).topical:
            return None
        return match if match.score >= self.settings.dialogue.topic_threshold else None

    def _route_text(self, text: str) -> IntentMatch | None:
        """The intent of a text derived from the message (encoded again)."""
        return self._route_vector(self.router.embedder.run([text])[0])

    def _route_vector(self, vector: np.ndarray) -> IntentMatch | None:
        """The intent of a derived text's vector (the knowledge base is searched only when the
        classifier picks an intent, not for the questions it sends there)."""
        name = self.router.classify(vector)
        if name is None:
            return None
        hits = self.search(vector)
        return self.router.confirm(name, vector, hits[0].score if hits else 0.0)

    def close(self, turn: DialogueTurn, reply: Reply) -> Reply:
        """Record the turn in its conversation; an unanswered streak ends with the offer of a person."""
        conversation = turn.conversation
        if reply.intent == "out_of_scope":
            conversation.misses += 1
            after = self.settings.dialogue.offer_human_after
            if after and conversation.misses >= after and not turn.one_off and self.router is not None:
                reply = dataclasses.replace(reply, answer=f"{reply.answer}\n\n{self.router.message('offer_human')}")
                conversation.pending, conversation.misses = Pending("offer_human"), 0
        elif reply.intent == "faq":
            conversation.misses = 0
        answer = reply.sources[0] if reply.intent == "faq" and reply.sources else None
        conversation.add(Turn(turn.text, turn.vector, turn.context_vector, reply.intent, answer))
        return reply

    def _answer_pending(self, turn: DialogueTurn, pending: Pending) -> bool:
        """Whether the message answers the bot's open question; sets the turn's reply or hits."""
        if pending.kind == "clarify":
            choice = self._choice(turn, pending.options)
            if choice is not None:
                chosen = pending.options[choice]
                previous = turn.conversation.topical()
                turn.hits, turn.query_text = [chosen], chosen.question
                turn.context_vector = previous[0].context_vector if previous else turn.vector
                return True
            if self._yes_no(turn.vector) == "deny":
                turn.reply = self._text_reply("deny", self.router.message("clarify_deny"))
                return True
        elif pending.kind == "offer_human":
            answer = self._yes_no(turn.vector)
            if answer == "affirm":
                turn.reply = self._text_reply("handoff", self.router.reply("handoff"))
            elif answer == "deny":
                turn.reply = self._text_reply("deny", self.router.message("offer_declined"))
            return answer is not None
        return False

    def _choice(self, turn: DialogueTurn, options: Sequence[Hit]) -> int | None:
        """Which option a short message picks: by position, by a word only one option has, or by "yes"."""
        tokens = set(_content_words(turn.text))
        if len(tokens) > MAX_CHOICE_WORDS:
            return None
        if _SECOND.search(turn.text.lower()):
            return 1
        if _FIRST.search(turn.text.lower()):
            return 0
        first, second = (set(_content_words(option.question)) for option in options)
        overlaps = (len(tokens & (first - second)), len(tokens & (second - first)))
        if overlaps[0] != overlaps[1]:
            return 0 if overlaps[0] > overlaps[1] else 1
        return 0 if self._yes_no(turn.vector) == "affirm" else None

    def _yes_no(self, vector: np.ndarray) -> str | None:
        """"affirm", "deny", or None when the message is neither."""
        match = self.router.match(vector, among=("affirm", "deny")) if self.router is not None else None
        return match.name if match is not None else None

    def _clarification(self, turn: DialogueTurn) -> Reply | None:
        """"Did you mean A or B?" when the two best hits are close, both confident, in a conversation."""
        if turn.one_off or not self.settings.dialogue.clarify or self.router is None or len(turn.hits) < 2:
            return None
        best, second = turn.hits[0], turn.hits[1]
        dialogue = self.settings.dialogue
        margin = dialogue.clarify_margin_reranked if self.settings.reranker.enabled else dialogue.clarify_margin
        close = best.confidence - second.confidence < margin and best.question != second.question
        if not close or second.confidence < self.settings.threshold:
            return None
        turn.conversation.pending = Pending("clarify", (best, second))
        return Reply(
            answer=self.router.message("clarify", first=best.question, second=second.question),
            intent="clarify",
            confidence=best.confidence,
            sources=(Source.from_hit(best), Source.from_hit(second)),
            answered=False,
            options=(best.question, second.question),
        )

    def _intent_reply(self, name: str, score: float, conversation: Conversation) -> Reply:
        """An intent's canned reply; an intent that offers a person leaves that offer open."""
        if self.router.catalog.get(name).offer_human:
            conversation.pending = Pending("offer_human")
        return Reply(answer=self.router.reply(name), intent=name, confidence=score)

    @staticmethod
    def _text_reply(intent: str, text: str) -> Reply:
        return Reply(answer=text, intent=intent, confidence=1.0)


def _content_words(text: str) -> list[str]:
    return [word for word in words(text) if word not in _STOPWORDS]
