"""The bi-encoder stage: texts in, unit-length vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from qa.config import EmbedderSettings
from qa.models import load_bi_encoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase


class Embedder:
    """Embeds texts with a sentence-transformers bi-encoder, loaded on first use."""

    def __init__(self, settings: EmbedderSettings) -> None:
        if settings.batch_size < 1:
            raise ValueError("embedder.batch_size must be at least 1")
        self.settings = settings

    @cached_property
    def model(self) -> SentenceTransformer:
        return load_bi_encoder(self.settings.model, self.settings.device)

    @property
    def model_id(self) -> str:
        """The model reference as recorded with the collection."""
        return self.settings.model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        return self.model.tokenizer

    @property
    def max_tokens(self) -> int:
        """The longest input, in tokens, that the model reads without truncating."""
        return int(self.model.max_seq_length)

    def run(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)
