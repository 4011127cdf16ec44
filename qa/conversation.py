"""Conversation state kept on the server, and follow-up questions resolved against it.

A conversation keeps its last `max_turns` turns, each with the embedding computed when it was
asked; at most `max_conversations` conversations are kept (the least recently used go first).
A message follows up on the conversation when it has a cue (elliptical, led by "and" / "what
about", or holding a pronoun such as "it") or is weak on its own (no FAQ entry close to it), and
it is related to the recent turns, or has both a cue and no strong match of its own. It then
retrieves with its vector blended with the previous question's; anything else, a topic switch
included, retrieves on its own.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qa.config import ConversationSettings
from qa.types import Hit, Source

TOPICAL_INTENTS = frozenset({"faq", "out_of_scope", "clarify"})  # turns that asked the knowledge base
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Turn:
    """One user message as the bot understood it."""

    text: str
    vector: np.ndarray  # the message's own embedding
    context_vector: np.ndarray  # the vector it retrieved with (its own, or blended for a follow-up)
    intent: str
    answer: Source | None = None  # the entry that answered it

    @property
    def topical(self) -> bool:
        return self.intent in TOPICAL_INTENTS


@dataclass(frozen=True)
class Pending:
    """A question the bot asked and whose answer the next message may be: "clarify" or "offer_human"."""

    kind: str
    options: tuple[Hit, ...] = ()


@dataclass
class Conversation:
    """The recent turns of one conversation, its unanswered streak, and the bot's open question."""

    max_turns: int
    turns: deque[Turn] = field(init=False)
    misses: int = 0
    pending: Pending | None = None

    def __post_init__(self) -> None:
        self.turns = deque(maxlen=self.max_turns)

    def add(self, turn: Turn) -> None:
        self.turns.append(turn)

    def topical(self) -> list[Turn]:
        """The recent turns that asked the knowledge base, newest first."""
        return [turn for turn in reversed(self.turns) if turn.topical]


class ConversationStore:
    """Conversations by id, bounded in number (least recently used first out); thread-safe."""

    def __init__(self, settings: ConversationSettings) -> None:
        self.settings = settings
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation_id: str | None) -> Conversation:
        """The conversation `conversation_id`, new when unknown; None gives a one-off, unstored one."""
        if conversation_id is None:
            return Conversation(self.settings.max_turns)
        with self._lock:
            conversation = self._conversations.pop(conversation_id, None) or Conversation(self.settings.max_turns)
            self._conversations[conversation_id] = conversation
            while len(self._conversations) > self.settings.max_conversations:
                self._conversations.popitem(last=False)
            return conversation

    def __len__(self) -> int:
        return len(self._conversations)

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._conversations


@dataclass(frozen=True)
class QueryPlan:
    """What a turn retrieves with: the re-ranker's text, the vector, and why."""

    text: str
    vector: np.ndarray
    followup: bool
    reason: str
    previous_answer: str | None = None  # the entry id that answered the turn followed up on
    context: np.ndarray | None = None  # the conversation's context after this turn (default: `vector`)

    @property
    def context_vector(self) -> np.ndarray:
        return self.vector if self.context is None else self.context


class ContextResolver:
    """Decides whether a message follows up on the conversation, and blends it when it does."""

    def __init__(self, settings: ConversationSettings) -> None:
        self.settings = settings
        self._pronouns = frozenset(word.lower() for word in settings.pronouns)
        self._leads = tuple(tuple(_words(phrase)) for phrase in settings.lead_phrases)
        self._fillers = frozenset(word.lower() for word in settings.fillers)

    def cue(self, text: str) -> str | None:
        """"elliptical", "lead" or "pronoun" when the wording of `text` marks a follow-up, else None."""
        words = _words(text)
        if len(words) <= self.settings.elliptical_words:
            return "elliptical"
        start = next((i for i, word in enumerate(words) if word not in self._fillers), len(words))
        if any(words[start : start + len(lead)] == list(lead) for lead in self._leads):
            return "lead"
        if self._pronouns.intersection(words):
            return "pronoun"
        return None

    def run(self, text: str, vector: np.ndarray, own_score: float, conversation: Conversation) -> QueryPlan:
        """The query of a message whose best FAQ match on its own scores `own_score`."""
        recent = conversation.topical()
        if not self.settings.context or not recent:
            return QueryPlan(text, vector, False, "no context")
        cue = self.cue(text)
        weak = own_score < self.settings.weak_threshold
        related = max(float(max(vector @ t.vector, vector @ t.context_vector)) for t in recent)
        related = related >= self.settings.switch_threshold
        if not ((cue and weak) or ((cue or weak) and related)):
            return QueryPlan(text, vector, False, "switch" if cue or weak else "standalone")
        previous = recent[0]
        weight = self.settings.weak_weight if weak else self.settings.current_weight
        blended = _blend(vector, previous.context_vector, weight)
        context = _blend(vector, previous.context_vector, self.settings.context_update)
        topic = previous.answer.question if previous.answer else previous.text
        query_text = f"{topic} {text}" if self.settings.context_text else text
        answer = previous.answer.id if previous.answer else None
        return QueryPlan(query_text, blended, True, cue or "weak", answer, context)

    def reorder(self, plan: QueryPlan, own: Sequence[Hit], hits: Sequence[Hit]) -> list[Hit]:
        """A follow-up rarely asks again what was just answered: that entry drops below the next one,
        unless the message on its own (`own`: its hits before blending) points to it too."""
        hits = list(hits)
        previous = plan.previous_answer if plan.followup and self.settings.demote_previous_answer else None
        if previous and len(hits) > 1 and hits[0].entry_id == previous and (not own or own[0].entry_id != previous):
            hits[0], hits[1] = hits[1], hits[0]
        return hits


def _blend(vector: np.ndarray, context: np.ndarray, weight: float) -> np.ndarray:
    """The unit vector of `weight` × `vector` + (1 - `weight`) × `context`."""
    blended = weight * vector + (1 - weight) * context
    return (blended / max(float(np.linalg.norm(blended)), 1e-12)).astype(np.float32)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())
