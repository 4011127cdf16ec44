"""Text generators: stream an answer piece by piece, bounded by max_new_tokens and a time limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator as _Generator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from qa.config import GenerationSettings
from qa.generation.models import load_generator
from qa.generation.prompt import Prompt

TextStream = _Generator[str, None, None]
"""Text pieces of an answer; closing it stops the model."""
REPEAT_NGRAM = 6  # tokens: an answer never repeats a 6-token sequence of its own

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class GenerationStats:
    """Filled in while a generation runs: tokens written and whether the time limit stopped it."""

    tokens: int = 0
    timed_out: bool = False


class Generator(Protocol):
    """Streams the answer to a prompt as text pieces."""

    @property
    def reserved_tokens(self) -> tuple[str, ...]:
        """Strings with a special meaning to the model, removed from the passages and the question."""
        ...

    def load(self) -> None:
        """Load the model now rather than in the first turn."""

    def stream(self, prompt: Prompt, stats: GenerationStats) -> TextStream:
        """Text pieces of the answer, greedy, until the end, max_new_tokens or the time limit."""
        ...


def make_generator(settings: GenerationSettings) -> Generator:
    """The generator of the configured backend (the model loads on first use)."""
    if settings.backend == "llama_cpp":
        from qa.generation.llama_cpp import LlamaCppGenerator

        return LlamaCppGenerator(settings)
    return TransformersGenerator(settings)


class TransformersGenerator:
    """Any causal or seq2seq model of transformers, streamed with TextIteratorStreamer from a thread."""

    def __init__(self, settings: GenerationSettings) -> None:
        self.settings = settings

    @cached_property
    def _loaded(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        return load_generator(self.settings.model, self.settings.device)

    def load(self) -> None:
        self._loaded  # noqa: B018 - loads the model

    @property
    def reserved_tokens(self) -> tuple[str, ...]:
        tokenizer = self._loaded[1]
        return tuple(tokenizer.all_special_tokens) + tuple(str(t) for t in tokenizer.get_added_vocab())

    def stream(self, prompt: Prompt, stats: GenerationStats) -> TextStream:
        from transformers import LogitsProcessorList, StoppingCriteriaList, TextIteratorStreamer

        model, tokenizer = self._loaded
        inputs = {name: tensor.to(model.device) for name, tensor in encode_prompt(tokenizer, prompt).items()}
        streamer = TextIteratorStreamer(
            tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=self.settings.time_limit_s + 30
        )
        budget = _Budget(time.monotonic() + self.settings.time_limit_s, stats)
        answer_start = 1 if model.config.is_encoder_decoder else inputs["input_ids"].shape[1]
        errors: list[BaseException] = []

        def generate() -> None:
            try:
                model.generate(
                    **inputs,
                    max_new_tokens=self.settings.max_new_tokens,
                    do_sample=False,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([budget]),
                    logits_processor=LogitsProcessorList([NoRepeatInAnswer(answer_start)]),
                    pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
                )
            except BaseException as error:  # noqa: BLE001 - re-raised in the consumer's thread
                errors.append(error)
                streamer.end()

        thread = threading.Thread(target=generate, name="qa-generate", daemon=True)
        thread.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            budget.cancelled.set()  # a consumer that stops early stops the model at its next token
            thread.join(timeout=5)
        if errors:
            raise errors[0]


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: Prompt) -> dict[str, Any]:
    """Input ids and attention mask of the prompt: the model's chat template when it has one, else plain text."""
    if tokenizer.chat_template:
        encoded = tokenizer.apply_chat_template(
            prompt.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
    else:
        encoded = tokenizer(prompt.text, return_tensors="pt")
    return {name: encoded[name] for name in ("input_ids", "attention_mask") if name in encoded}


class NoRepeatInAnswer:
    """A logits processor that bans a token which would repeat an n-gram the answer already holds.

    Greedy decoding of a small model falls into loops ("1 year of version history, 1 year of ...");
    transformers' own no_repeat_ngram_size also counts the prompt's n-grams, which would forbid
    copying a fact from a passage. This one looks at the answer only.
    """

    def __init__(self, answer_start: int, n: int = REPEAT_NGRAM) -> None:
        self.answer_start = answer_start
        self.n = n

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, ids in enumerate(input_ids[:, self.answer_start :].tolist()):
            if len(ids) < self.n:
                continue
            prefix = ids[len(ids) - self.n + 1 :]
            banned = {ids[i + self.n - 1] for i in range(len(ids) - self.n + 1) if ids[i : i + self.n - 1] == prefix}
            if banned:
                scores[row, sorted(banned)] = float("-inf")
        return scores


class _Budget:
    """A stopping criterion: counts tokens, stops at the deadline or when the consumer has gone."""

    def __init__(self, deadline: float, stats: GenerationStats) -> None:
        self.deadline = deadline
        self.stats = stats
        self.cancelled = threading.Event()

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.stats.tokens += 1
        if time.monotonic() >= self.deadline:
            self.stats.timed_out = True
        stop = self.stats.timed_out or self.cancelled.is_set()
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

