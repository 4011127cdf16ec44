"""Fakes for the generation unit tests: a word-overlap encoder and a scripted generator."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from qa.generation.generator import GenerationStats, TextStream
from qa.generation.prompt import Prompt


class WordEncoder:
    """Unit vectors of hashed words: texts that share words are similar, others are not."""

    def run(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9$]+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % 512] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class ScriptedGenerator:
    """Streams fixed pieces; can time out or fail after them; records the prompts it saw."""

    reserved_tokens = ("<|im_end|>",)

    def __init__(self, pieces: Sequence[str], timed_out: bool = False, error: Exception | None = None) -> None:
        self.pieces = pieces
        self.timed_out = timed_out
        self.error = error
        self.prompts: list[Prompt] = []
        self.loaded = False
        self.closed_early = False

    def load(self) -> None:
        self.loaded = True

    def stream(self, prompt: Prompt, stats: GenerationStats) -> TextStream:
        self.prompts.append(prompt)
        try:
            for piece in self.pieces:
                stats.tokens += 1
                yield piece
        except GeneratorExit:
            self.closed_early = True
            raise
        stats.timed_out = self.timed_out
        if self.error is not None:
            raise self.error
