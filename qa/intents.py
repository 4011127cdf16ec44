"""Intent routing: small talk, hand-off and yes / no, detected from the turn's own embedding.

The intents and their texts come from `configs/intents.yaml` (see its header). The router embeds
every example utterance once with the retrieval bi-encoder. A logistic regression on those vectors,
with the knowledge base's own vectors as one more class, picks what a turn's vector (the one
retrieval uses) is: an intent or a question for the knowledge base. It is trained again whenever
the knowledge base changes, and so are the knowledge base's topic words: words of several stored
texts that no intent example uses ("sync", "invoice"). A message left to the knowledge base is
routed once more without them when it has only a few ("I need a human about my sync problem").
The classifier also learns made-up small talk about a topic (each example's vector mixed with a
stored one), so a message still left to the knowledge base goes, last, to a topical intent it finds
likely enough ("Thanks for explaining the Plus plan").
The picked intent's score is the mean cosine similarity of its nearest examples; it wins when that
score reaches `dialogue.intent_threshold` and beats the best FAQ entry's bi-encoder score by its
margin, and that FAQ score is under `dialogue.faq_ceiling` (or the intent's own `faq_ceiling`), so
a knowledge base that answers "hello" itself keeps answering it. Before all this, an intent's
`patterns` (regular expressions) may claim a message by its shape ("can you help with the pen?").
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from qa.config import ConfigError, DialogueSettings, read_yaml
from qa.embedder import Embedder
from qa.text import words

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

    from qa.store import Record
    from qa.types import Hit

BUILT_IN = ("greeting", "goodbye", "thanks", "handoff", "bot_capabilities", "complaint", "affirm", "deny")
MESSAGES = ("clarify", "clarify_deny", "offer_human", "offer_declined")
KNOWLEDGE = "<knowledge base>"  # the classifier's class of questions for the knowledge base
KNOWLEDGE_SAMPLE = 5000  # at most this many knowledge-base vectors train that class
CLASSIFIER_C = 16.0  # the classifier's inverse regularisation (chosen on the dev small-talk sets)
MIX_SEED = 13  # the draw of the stored vectors that made-up small talk is mixed with
_LEADING_CLAUSE = re.compile(r"^\s*([^,!.;:?]+?)\s*[,!.;:]+\s*(\S.*)$")
_TRAILING_CLAUSE = re.compile(r"^(.*\S)\s*[,!.;:]+\s*([^,!.;:?]+?)[\s!.]*$")
_WORD = re.compile(r"[\w']+")
_QUESTION_WORDS = frozenset(
    "how what when where why which who whose can could do does did is are was were will would should may might shall "
    "am have has any".split()
)


class IntentsError(ConfigError):
    """An intents file that cannot be used; the message names the file and the intent."""


@dataclass(frozen=True)
class Intent:
    """One intent: example utterances, reply variants, and how it behaves."""

    name: str
    examples: tuple[str, ...]
    replies: tuple[str, ...]
    offer_human: bool = False
    margin: float | None = None
    faq_ceiling: float | None = None
    trailing: bool = False  # may end a message about something else: routed by its last clause
    topical: bool = True  # may be said about a topic of the knowledge base: routed without its topic words
    patterns: tuple[re.Pattern[str], ...] = ()  # a message one of these finds is this intent, unless the knowledge base claims it


@dataclass(frozen=True)
class IntentCatalog:
    """The intents of a file and the texts of the dialogue (`messages`)."""

    intents: tuple[Intent, ...]
    messages: Mapping[str, str]
    product_names: tuple[str, ...] = ()  # left out of a message before routing it again ("thanks Skylark")

    def get(self, name: str) -> Intent:
        return next(intent for intent in self.intents if intent.name == name)

    def by_pattern(self, text: str) -> str | None:
        """The intent whose pattern finds the earliest match in `text` ("are you a real person?" is a
        question about the bot before it is about a person), ties going to the first in the file."""
        starts = [
            (found.start(), index)
            for index, intent in enumerate(self.intents)
            for pattern in intent.patterns
            if (found := pattern.search(text)) is not None
        ]
        return self.intents[min(starts)[1]].name if starts else None

    def without_product_names(self, text: str) -> str:
        """`text` without the product names (and their possessive 's), spaces tidied."""
        for name in sorted(self.product_names, key=len, reverse=True):
            text = re.sub(rf"\b{re.escape(name)}(?:'s)?\b", " ", text, flags=re.IGNORECASE)
        return re.sub(r"\s+", " ", text).strip(" ,")


@dataclass(frozen=True)
class IntentMatch:
    """The intent a turn is routed to and its score."""

    name: str
    score: float


def load_intents(path: str | Path) -> IntentCatalog:
    """The intents of a YAML file, checked: each has examples and replies, and every message is there."""
    path = Path(path)
    raw = read_yaml(path, "the intents", IntentsError) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("intents"), dict) or not raw["intents"]:
        raise IntentsError(f"{path}: expected a mapping with 'intents' (name: {{examples, replies}}) and 'messages'")
    intents = tuple(_intent(name, fields, path) for name, fields in raw["intents"].items())
    messages = raw.get("messages") or {}
    missing = [key for key in MESSAGES if not isinstance(messages.get(key), str) or not messages[key].strip()]
    if missing:
        raise IntentsError(f"{path}: 'messages' lacks {', '.join(missing)}")
    try:
        messages["clarify"].format(first="A", second="B")
    except (KeyError, IndexError, ValueError) as error:
        raise IntentsError(f"{path}: 'messages.clarify' may only use {{first}} and {{second}} ({error})") from error
    products = raw.get("product_names") or []
    if not isinstance(products, list) or not all(isinstance(name, str) and name.strip() for name in products):
        raise IntentsError(f"{path}: 'product_names' must be a list of names")
    return IntentCatalog(intents, {key: messages[key] for key in MESSAGES}, tuple(name.strip() for name in products))


def _intent(name: Any, fields: Any, path: Path) -> Intent:
    where = f"{path}: intent '{name}'"
    if not isinstance(fields, dict):
        raise IntentsError(f"{where}: expected a mapping with 'examples' and 'replies'")
    unknown = set(fields) - {"examples", "replies", "offer_human", "margin", "faq_ceiling", "trailing", "topical", "patterns"}
    if unknown:
        raise IntentsError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    texts = {}
    for key in ("examples", "replies"):
        values = fields.get(key)
        if not isinstance(values, list) or not values or not all(isinstance(v, (str, int, float)) for v in values):
            raise IntentsError(f"{where}: '{key}' must be a non-empty list of texts")
        texts[key] = tuple(str(value).strip() for value in values)
    numbers = {}
    for key in ("margin", "faq_ceiling"):
        value = fields.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise IntentsError(f"{where}: '{key}' must be a number")
        numbers[key] = None if value is None else float(value)
    flags = {key: bool(fields.get(key, key == "topical")) for key in ("offer_human", "trailing", "topical")}
    return Intent(str(name), texts["examples"], texts["replies"], **flags, **numbers, patterns=_patterns(fields.get("patterns", []), where))


def _patterns(values: Any, where: str) -> tuple[re.Pattern[str], ...]:
    """An intent's `patterns`: regular expressions, matched anywhere in a message, case-insensitively."""
    if not isinstance(values, list) or not all(isinstance(value, str) and value for value in values):
        raise IntentsError(f"{where}: 'patterns' must be a list of regular expressions")
    compiled = []
    for value in values:
        try:
            compiled.append(re.compile(value, re.IGNORECASE))
        except re.error as error:
            raise IntentsError(f"{where}: pattern {value!r} is not a regular expression ({error})") from error
    return tuple(compiled)


def leading_clause(text: str, max_rest_words: int | None = None) -> str | None:
    """The first clause of a message whose rest is a statement ("thanks" in "thanks, the pen works
    again"), else None. A rest that is a question ("hi, how do I sync?"), or a statement of more than
    `max_rest_words` words ("Hi, I was charged twice for my top-up last Saturday"), is for the knowledge base."""
    match = _LEADING_CLAUSE.match(text)
    if match is None or _is_question(match.group(2)):
        return None
    if max_rest_words is not None and len(words(match.group(2))) > max_rest_words:
        return None
    return match.group(1)


def question_after_a_clause(text: str) -> bool:
    """Whether a leading clause is followed by a question ("hi, how do I sync?")."""
    match = _LEADING_CLAUSE.match(text)
    return match is not None and _is_question(match.group(2))


def _is_question(text: str) -> bool:
    """Whether `text` ends with "?" or starts with a question word."""
    head = words(text)[:1]
    return text.rstrip().endswith("?") or bool(_QUESTION_WORDS.intersection(head))


def trailing_clause(text: str, max_words: int) -> str | None:
    """The last clause of a statement when it has at most `max_words` words ("unbelievable" in "the
    Mac app crashed again. unbelievable"), else None. Questions are for the knowledge base."""
    match = _TRAILING_CLAUSE.match(text)
    if match is None or text.rstrip().endswith("?"):
        return None
    head, tail = words(match.group(1)), words(match.group(2))
    if not tail or len(tail) > max_words or _QUESTION_WORDS.intersection(head[:1] + tail[:1]):
        return None
    return match.group(2)


_vector_cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
_cache_lock = threading.Lock()


def _embed_examples(embedder: Embedder, examples: tuple[str, ...]) -> np.ndarray:
    """The examples' vectors, embedded once per model and set of examples in a process."""
    key = (embedder.model_id, examples)
    with _cache_lock:
        if key not in _vector_cache:
            _vector_cache[key] = embedder.run(list(examples))
        return _vector_cache[key]


class KnowledgeSource(Protocol):
    """The knowledge base as the router sees it (a `KnowledgeStore`)."""

    def generation(self) -> str | None: ...

    def sample_records(self, limit: int) -> Sequence[Record]: ...


@dataclass(frozen=True)
class KnowledgeModel:
    """What the router learns from one generation of the knowledge base."""

    classifier: LogisticRegression | None  # None: a single intent and an empty knowledge base
    topic_words: frozenset[str]
    entry_intents: Mapping[str, frozenset[str]] = field(default_factory=dict)  # entries that answer an intent themselves


def mixed_examples(
    vectors: np.ndarray, labels: Sequence[str], knowledge: np.ndarray, count: int, weight: float, seed: int = MIX_SEED
) -> tuple[np.ndarray, list[str]]:
    """Small talk about a topic, made up: each example vector mixed with `count` stored vectors drawn
    at random, `weight` on the example ("thanks" + "How do I pair the pen?"), with the example's label."""
    if count < 1 or not len(vectors) or not len(knowledge):
        return np.empty((0, knowledge.shape[-1]), dtype=np.float32), []
    drawn = knowledge[np.random.default_rng(seed).integers(len(knowledge), size=(len(vectors), count))]
    mixed = weight * np.asarray(vectors)[:, None, :] + (1 - weight) * drawn
    mixed /= np.maximum(np.linalg.norm(mixed, axis=-1, keepdims=True), 1e-12)
    return mixed.reshape(-1, mixed.shape[-1]).astype(np.float32), [label for label in labels for _ in range(count)]


def entry_intents(probabilities: np.ndarray, classes: Sequence[str], entry_ids: Sequence[str], threshold: float) -> dict[str, frozenset[str]]:
    """The entries that answer an intent themselves: those with a stored text to which the classifier
    gives that intent `threshold` at least (the demo's contact entry, for `handoff`)."""
    found: dict[str, set[str]] = {}
    for entry_id, row in zip(entry_ids, probabilities):
        found.setdefault(entry_id, set()).update(name for name, p in zip(classes, row) if name != KNOWLEDGE and p >= threshold)
    return {entry_id: frozenset(names) for entry_id, names in found.items() if names}


def topic_words(documents: Iterable[str], examples: Iterable[str], min_count: int) -> frozenset[str]:
    """Words of at least `min_count` of the `documents` that none of the `examples` uses: what the
    knowledge base is about, not how people talk to the bot (`min_count` 0: none)."""
    if min_count < 1:
        return frozenset()
    counts = Counter(word for document in documents for word in set(words(document)))
    used = {word for example in examples for word in words(example)}
    return frozenset(word for word, count in counts.items() if count >= min_count and word not in used)


class IntentRouter:
    """Routes a turn's vector to an intent, or to the knowledge base (None)."""

    def __init__(
        self, catalog: IntentCatalog, embedder: Embedder, settings: DialogueSettings, knowledge: KnowledgeSource | None = None
    ) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.settings = settings
        self.knowledge = knowledge
        self.names = tuple(intent.name for intent in catalog.intents)
        self._owners = np.array([i for i, intent in enumerate(catalog.intents) for _ in intent.examples])
        self._examples = tuple(example for intent in catalog.intents for example in intent.examples)
        self._random = random.Random()
        self._learned: tuple[str | None, KnowledgeModel] | None = None  # (generation, model)
        self._learned_lock = threading.Lock()

    @property
    def vectors(self) -> np.ndarray:
        return _embed_examples(self.embedder, self._examples)

    def scores(self, vector: np.ndarray) -> dict[str, float]:
        """Each intent's score: the mean cosine similarity of its `neighbours` nearest examples."""
        similarities = self.vectors @ np.asarray(vector, dtype=np.float32)
        scores = {}
        for index, name in enumerate(self.names):
            own = np.sort(similarities[self._owners == index])[::-1][: self.settings.neighbours]
            scores[name] = float(own.mean())
        return scores

    def match(self, vector: np.ndarray, among: Collection[str] | None = None) -> IntentMatch | None:
        """The best intent (of `among`, default all) when it reaches the threshold."""
        scores = {name: score for name, score in self.scores(vector).items() if among is None or name in among}
        if not scores:
            return None
        name = max(scores, key=scores.__getitem__)
        return IntentMatch(name, scores[name]) if scores[name] >= self.settings.intent_threshold else None

    def classify(self, vector: np.ndarray) -> str | None:
        """The intent the classifier picks for `vector`, or None for a question to the knowledge base."""
        classifier = self.classifier()
        if classifier is None:  # a single intent and an empty knowledge base
            return self.names[0]
        label = str(classifier.predict(np.asarray(vector, dtype=np.float32)[None, :])[0])
        return None if label == KNOWLEDGE else label

    def classifier(self) -> LogisticRegression | None:
        """The classifier for the knowledge base as it is now."""
        return self.learned().classifier

    def without_topic_words(self, text: str) -> str | None:
        """`text` without the knowledge base's topic words, when it has some but at most
        `dialogue.topic_words_max` of them (a question full of them is for the knowledge base), and no
        question follows a leading clause, else None."""
        if question_after_a_clause(text):  # "hi, how do I sync?" is a question however few its topic words
            return None
        topics = self.learned().topic_words
        found = [word for word in _WORD.findall(text) if word.lower() in topics]
        if not found or len(found) > self.settings.topic_words_max:
            return None
        rest = _WORD.sub(lambda word: "" if word.group().lower() in topics else word.group(), text)
        rest = re.sub(r"\s+", " ", rest).strip()
        return rest if words(rest) else None

    def learned(self) -> KnowledgeModel:
        """The classifier and topic words of the knowledge base as it is now (learned again after every change)."""
        generation = self.knowledge.generation() if self.knowledge is not None else None
        with self._learned_lock:
            if self._learned is None or self._learned[0] != generation:
                self._learned = (generation, self._learn())
            return self._learned[1]

    def _learn(self) -> KnowledgeModel:
        """A logistic regression on the examples' vectors and a sample of the knowledge base's vectors,
        and the topic words of that sample."""
        from sklearn.linear_model import LogisticRegression

        labels = [self.names[owner] for owner in self._owners]
        vectors = self.vectors
        sample = self.knowledge.sample_records(KNOWLEDGE_SAMPLE) if self.knowledge is not None else []
        stored = [record for record in sample if record.embedding is not None and len(record.embedding) == vectors.shape[1]]
        knowledge = np.stack([record.embedding for record in stored]) if stored else np.empty((0, vectors.shape[1]))
        settings = self.settings
        mixed, mixed_labels = mixed_examples(vectors, labels, knowledge, settings.mixed_examples, settings.mixed_weight)
        features = np.concatenate([vectors, knowledge, mixed])
        labels += [KNOWLEDGE] * len(knowledge) + mixed_labels
        if len(set(labels)) < 2:
            return KnowledgeModel(None, frozenset())
        classifier = LogisticRegression(C=CLASSIFIER_C, max_iter=3000).fit(features, labels)
        topics = topic_words((record.document for record in sample), self._examples, settings.topic_words_min_count)
        answered = entry_intents(
            classifier.predict_proba(knowledge) if len(knowledge) else np.empty((0, 0)),
            [str(name) for name in classifier.classes_],
            [record.metadata.get("entry_id", record.id) for record in stored],
            settings.about_topic_probability,
        )
        return KnowledgeModel(classifier, topics, answered)

    def about_topic(self, vector: np.ndarray, best: Hit | None) -> IntentMatch | None:
        """Small talk about a topic of the knowledge base ("Thanks for explaining the Plus plan"): the
        topical intent to which the classifier gives `dialogue.about_topic_probability` at least, when
        it scores `about_topic_score` at least, the best FAQ entry `best` is under
        `about_topic_faq_ceiling`, and that entry does not answer the intent itself (a contact entry
        keeps "Do you have a hotline I could phone?"). Off with `dialogue.mixed_examples: 0`."""
        model, settings = self.learned(), self.settings
        if model.classifier is None or settings.mixed_examples < 1:
            return None
        probabilities = dict(zip(map(str, model.classifier.classes_), model.classifier.predict_proba(vector[None, :])[0]))
        probabilities.pop(KNOWLEDGE, None)
        name = max(probabilities, key=probabilities.__getitem__)
        faq_score, entry_id = (best.score, best.entry_id) if best is not None else (0.0, None)
        if (
            probabilities[name] < settings.about_topic_probability
            or not self.catalog.get(name).topical
            or faq_score >= settings.about_topic_faq_ceiling
            or name in model.entry_intents.get(entry_id, ())
        ):
            return None
        score = self.scores(vector)[name]
        return IntentMatch(name, score) if score >= settings.about_topic_score else None

    def run(self, vector: np.ndarray, faq_score: float) -> IntentMatch | None:
        """The intent of a turn: the classifier's pick, when its score reaches the threshold and beats
        the best FAQ entry (`faq_score`) by its margin, and that entry is under its `faq_ceiling` (a
        knowledge base that answers the message confidently keeps it)."""
        name = self.classify(vector)
        return None if name is None else self.confirm(name, vector, faq_score)

    def confirm(self, name: str, vector: np.ndarray, faq_score: float) -> IntentMatch | None:
        """The match of the classifier's pick `name` when it passes the threshold, the margin and the ceiling."""
        intent, settings = self.catalog.get(name), self.settings
        ceiling = settings.faq_ceiling if intent.faq_ceiling is None else intent.faq_ceiling
        margin = settings.intent_margin if intent.margin is None else intent.margin
        score = self.scores(vector)[name]
        if faq_score >= ceiling or score < settings.intent_threshold or score - faq_score < margin:
            return None
        return IntentMatch(name, score)

    def reply(self, name: str) -> str:
        """One of the intent's reply variants, at random."""
        return self._random.choice(self.catalog.get(name).replies)

    def message(self, key: str, **values: str) -> str:
        """A text of the dialogue (`messages` in the intents file), filled in when `values` are given."""
        text = self.catalog.messages[key]
        return text.format(**values) if values else text
