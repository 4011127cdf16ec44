"""Conversation state kept on the server, and follow-up questions resolved against it.

A conversation keeps its last `max_turns` turns, each with the embedding computed when it was
asked; at most `max_conversations` conversations are kept (the least recently used go first).

A message follows up on the conversation when it is weak on its own (no FAQ entry close to it),
or when its wording marks a follow-up (elliptical, led by "and" / "what about", holding a pronoun
such as "it") and it is related to the recent turns. It then retrieves with its vector blended
with the conversation's context (the vectors of earlier turns, not encoded again); anything else,
a topic switch included, retrieves on its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np

from qa.config import ConversationSettings
from qa.text import words
from qa.types import Hit, Source

TOPICAL_INTENTS = frozenset({"faq", "out_of_scope", "clarify"})  # turns that asked the knowledge base


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
    """What a turn retrieves with (the re-ranker's text and the vector), and why."""

    text: str
    vector: np.ndarray
    followup: bool
    reason: str
    context: np.ndarray | None = None  # the conversation's context after this turn (default: `vector`)

    @property
    def context_vector(self) -> np.ndarray:
        return self.vector if self.context is None else self.context


class ContextResolver:
    """Decides whether a message follows up on the conversation, and blends it when it does."""

    def __init__(self, settings: ConversationSettings) -> None:
        self.settings = settings
        self._pronouns = frozenset(word.lower() for word in settings.pronouns)
        self._leads = tuple(tuple(words(phrase)) for phrase in settings.lead_phrases)
        self._fillers = frozenset(word.lower() for word in settings.fillers)

    def cue(self, text: str) -> str | None:
        """"elliptical", "lead" or "pronoun" when the wording of `text` marks a follow-up, else None."""
        tokens = words(text)
        if len(tokens) <= self.settings.elliptical_words:
            return "elliptical"
        start = next((i for i, word in enumerate(tokens) if word not in self._fillers), len(tokens))
        if any(tokens[start : start + len(lead)] == list(lead) for lead in self._leads):
            return "lead"
        if self._pronouns.intersection(tokens):
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
        if not (weak or (cue and related >= self.settings.switch_threshold)):
            return QueryPlan(text, vector, False, "switch" if cue else "standalone")
        previous = recent[0]
        topic = previous.answer.question if previous.answer else previous.text
        return QueryPlan(
            text=f"{topic} {text}" if self.settings.context_text else text,
            vector=_blend(vector, previous.context_vector, self.settings.blend_weight),
            followup=True,
            reason=cue or "weak",
            context=_blend(vector, previous.context_vector, self.settings.context_update),
        )


def _blend(vector: np.ndarray, context: np.ndarray, weight: float) -> np.ndarray:
    """The unit vector of `weight` × `vector` + (1 - `weight`) × `context`."""
    blended = weight * vector + (1 - weight) * context
    return (blended / max(float(np.linalg.norm(blended)), 1e-12)).astype(np.float32)
