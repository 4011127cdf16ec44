"""The re-ranking stage: a cross-encoder scores (query, candidate) pairs and reorders the hits."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from qa.config import RerankerSettings
from qa.models import load_cross_encoder
from qa.types import Hit

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder


def pair_texts(query: str, hit: Hit) -> list[str]:
    """The candidate texts a query is compared with; the hit scores by the best of them."""
    return list(hit.matched_texts[:1]) or [hit.question]


class Reranker:
    """Re-scores hits with a sentence-transformers CrossEncoder, loaded on first use."""

    def __init__(self, settings: RerankerSettings) -> None:
        if settings.max_length < 8 or settings.batch_size < 1:
            raise ValueError("reranker.max_length must be at least 8 and reranker.batch_size at least 1")
        self.settings = settings

    @cached_property
    def model(self) -> CrossEncoder:
        return load_cross_encoder(self.settings.model, self.settings.max_length)

    def run(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """The hits with `rerank_score` set (a probability), best first."""
        if not hits:
            return []
        pairs, owners = [], []
        for index, hit in enumerate(hits):
            for text in pair_texts(query, hit):
                pairs.append((query, text))
                owners.append(index)
        scores = self.model.predict(pairs, batch_size=self.settings.batch_size, show_progress_bar=False)
        best = [float("-inf")] * len(hits)
        for owner, score in zip(owners, scores):
            best[owner] = max(best[owner], float(score))
        rescored = [dataclasses.replace(hit, rerank_score=score) for hit, score in zip(hits, best)]
        return sorted(rescored, key=lambda hit: -(hit.rerank_score or 0.0))
