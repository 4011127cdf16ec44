"""Fakes for the dialogue unit tests: a bag-of-words embedder and hits."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

from qa.store import Record
from qa.types import Hit

DIMENSION = 512


class WordEmbedder:
    """Unit vectors of hashed word counts: texts that share words are close; counts its calls."""

    model_id = "fake-words"

    def __init__(self) -> None:
        self.calls = 0

    def run(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        rows = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in zip(rows, texts):
            for word in re.findall(r"\w+", text.lower()):
                row[zlib.crc32(word.encode()) % DIMENSION] += 1.0
            row /= max(float(np.linalg.norm(row)), 1e-12)
        return rows

    def one(self, text: str) -> np.ndarray:
        return self.run([text])[0]


def hit(entry_id: str, score: float, question: str | None = None) -> Hit:
    """An FAQ hit with a bi-encoder score."""
    question = question or entry_id.replace("-", " ")
    return Hit(entry_id, question, f"Answer to {question}.", "faq.yaml", "faq", score)


class FakeKnowledge:
    """A knowledge base of a few question vectors, whose generation a test can change."""

    def __init__(self, embedder: WordEmbedder, questions: list[str]) -> None:
        self.name, self.samples = "g1", 0
        self.records = [Record(f"q{n}", question, {}, vector) for n, (question, vector) in enumerate(zip(questions, embedder.run(questions)))]

    def generation(self) -> str | None:
        return self.name

    def sample_records(self, limit: int) -> list[Record]:
        self.samples += 1
        return self.records[:limit]
