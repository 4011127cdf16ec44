"""The retrieval stage: nearest vectors in Chroma, grouped into entries scored by their best vector."""

from __future__ import annotations

from typing import Any

import numpy as np

from qa.config import RetrievalSettings
from qa.store import KnowledgeStore, Match
from qa.types import Hit

VECTORS_PER_ENTRY = 4  # an entry has several vectors: fetch enough to fill the candidates
MATCHED_TEXTS = 3


class Retriever:
    """Finds the entries and passages nearest to a query vector."""

    def __init__(self, store: KnowledgeStore, settings: RetrievalSettings) -> None:
        self.store = store
        self.settings = settings

    @property
    def candidates(self) -> int:
        """How many entries a turn fetches for re-ranking."""
        return self.settings.top_k * self.settings.candidate_factor

    def run(self, vector: np.ndarray, n_entries: int | None = None, where: dict[str, Any] | None = None) -> list[Hit]:
        """Up to `n_entries` hits (default: top_k × candidate_factor), best first."""
        n_entries = n_entries or self.candidates
        matches = self.store.query(vector, n_entries * VECTORS_PER_ENTRY, where)
        return group_matches(matches)[:n_entries]


def group_matches(matches: list[Match]) -> list[Hit]:
    """One hit per entry, scored by its best vector, with its best matched texts."""
    grouped: dict[str, list[Match]] = {}
    for match in matches:
        grouped.setdefault(match.metadata.get("entry_id", match.id), []).append(match)
    hits = []
    for entry_id, entry_matches in grouped.items():
        best = max(entry_matches, key=lambda m: m.similarity)
        meta = best.metadata
        ordered = sorted(entry_matches, key=lambda m: -m.similarity)
        hits.append(
            Hit(
                entry_id=entry_id,
                question=meta.get("question", ""),
                answer=meta.get("answer", best.document),
                source=meta.get("source", ""),
                kind="passage" if meta.get("kind") == "passage" else "faq",
                score=best.similarity,
                matched_texts=tuple(m.document for m in ordered[:MATCHED_TEXTS]),
                matched_scores=tuple(m.similarity for m in ordered[:MATCHED_TEXTS]),
                url=meta.get("url"),
                category=meta.get("category"),
            )
        )
    return sorted(hits, key=lambda hit: -hit.score)
