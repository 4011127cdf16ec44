"""The optional llama.cpp backend (pip install '.[llama-cpp]'): a GGUF model, several times faster on a CPU."""

from __future__ import annotations

import threading
import time
from functools import cached_property
from typing import Any

from qa.config import GenerationSettings
from qa.generation.generator import GenerationStats, TextStream
from qa.generation.models import resolve_generator_model
from qa.generation.prompt import Prompt
from qa.models import ModelError

CONTEXT_TOKENS = 4096
_load_lock = threading.Lock()


class LlamaCppGenerator:
    """Streams chat completions from llama-cpp-python (one model per generator, loaded on first use)."""

    def __init__(self, settings: GenerationSettings) -> None:
        self.settings = settings

    @cached_property
    def _model(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise ModelError("generation.backend llama_cpp needs llama-cpp-python: pip install '.[llama-cpp]'") from error
        path = resolve_generator_model(self.settings.model).gguf_path
        with _load_lock:
            return Llama(model_path=str(path), n_ctx=CONTEXT_TOKENS, verbose=False)

    def load(self) -> None:
        self._model  # noqa: B018 - loads the model

    @property
    def reserved_tokens(self) -> tuple[str, ...]:
        return ()  # the prompt's own neutralizing removes <|...|> markers, which llama.cpp's templates use

    def stream(self, prompt: Prompt, stats: GenerationStats) -> TextStream:
        deadline = time.monotonic() + self.settings.time_limit_s
        chunks = self._model.create_chat_completion(
            messages=prompt.messages, max_tokens=self.settings.max_new_tokens, temperature=0.0, stream=True
        )
        for chunk in chunks:
            piece = chunk["choices"][0].get("delta", {}).get("content")
            if piece:
                stats.tokens += 1
                yield piece
            if time.monotonic() >= deadline:
                stats.timed_out = True
                break
