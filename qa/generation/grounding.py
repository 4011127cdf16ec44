"""The grounding check: each generated sentence must be close (bi-encoder cosine) to a passage,
name no number that the passage lacks, and not repeat an earlier sentence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from qa.generation.citations import strip_citations

# A sentence ends at . ! ? followed by a space and no lower-case letter or digit (a citation may follow it).
_SENTENCE_END = re.compile(r"(?<=[.!?])((?:\s*\[[^\]]*\])*)\s+(?![a-z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
REPEAT_SIMILARITY = 0.95


class Encoder(Protocol):
    """What the check needs of the bi-encoder: unit-length vectors, one row per text."""

    def run(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Support:
    """How one sentence stands against the passages."""

    sentence: str
    score: float  # the best cosine similarity to a passage or to one of its sentences
    passage: int  # the number of that passage (0: none)
    numbers_match: bool  # every number in the sentence is in that passage
    repeat: bool  # a near duplicate of an earlier sentence


@dataclass(frozen=True)
class Grounding:
    """The support of each sentence of an answer."""

    sentences: tuple[Support, ...]
    threshold: float

    @property
    def supported(self) -> tuple[Support, ...]:
        return tuple(s for s in self.sentences if s.score >= self.threshold and s.numbers_match and not s.repeat)

    @property
    def share(self) -> float:
        """The share of sentences that are supported (0 for no sentence)."""
        return len(self.supported) / len(self.sentences) if self.sentences else 0.0


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`: each line, without its bullet, split after . ! ? (citations stay with them)."""
    sentences = []
    for line in text.splitlines():
        line, start = _BULLET.sub("", line), 0
        for match in _SENTENCE_END.finditer(line):
            sentences.append(line[start : match.end(1)])
            start = match.end()
        sentences.append(line[start:])
    return [sentence.strip() for sentence in sentences if sentence.strip()]


def numbers(text: str) -> set[str]:
    """The numbers written in `text` ("4.99", "1,000", "60")."""
    return set(_NUMBER.findall(text))


class Grounder:
    """Scores sentences against passages with the bi-encoder the pipeline already loaded."""

    def __init__(self, encoder: Encoder, threshold: float) -> None:
        self.encoder = encoder
        self.threshold = threshold

    def run(self, sentences: Sequence[str], passages: Sequence[str]) -> Grounding:
        """Each sentence's support: best passage, its similarity, numbers, repeats."""
        claims = [strip_citations(sentence) for sentence in sentences]
        units = [(number, unit) for number, passage in enumerate(passages, 1) for unit in (passage, *split_sentences(passage))]
        if not claims or not units:
            return Grounding(tuple(Support(s, 0.0, 0, False, False) for s in sentences), self.threshold)
        vectors = self.encoder.run([*claims, *(unit for _, unit in units)])
        claim_vectors = vectors[: len(claims)]
        similarity = claim_vectors @ vectors[len(claims) :].T
        between_claims = claim_vectors @ claim_vectors.T
        supports = []
        for i, (sentence, claim) in enumerate(zip(sentences, claims)):
            best = int(similarity[i].argmax())
            passage = units[best][0]
            supports.append(
                Support(
                    sentence,
                    round(float(similarity[i, best]), 4) if claim else 0.0,
                    passage,
                    numbers(claim) <= numbers(passages[passage - 1]),
                    bool(i and between_claims[i, :i].max() >= REPEAT_SIMILARITY),
                )
            )
        return Grounding(tuple(supports), self.threshold)
