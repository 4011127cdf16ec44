"""The re-ranking stage: a cross-encoder scores (query, candidate) pairs and reorders the hits.

Pairs are built by `qa.reranking_model.pair_texts`, the function the model was trained with. A
model folder that carries a `calibration.json` turns the cross-encoder's logit (and the
bi-encoder's similarity and the hit's support) into a calibrated probability, and orders the hits
with the knowledge base's entry classifier too; a model without one (a hub model) gets the sigmoid
of its logit.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from copy import deepcopy
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.config import RerankerSettings
from qa.entry_classifier import EntryClassifier
from qa.models import ModelError, load_cross_encoder, resolve_model
from qa.reranking_model import CALIBRATION_FILE, Calibration, load_calibration, score_hits
from qa.types import Hit

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

SIGMOID = Calibration(logit_weight=1.0, similarity_weight=0.0, bias=0.0, threshold=0.5, method="sigmoid")


class Reranker:
    """Re-scores hits with a sentence-transformers CrossEncoder, loaded on first use."""

    def __init__(self, settings: RerankerSettings, entry_classifier: EntryClassifier | None = None) -> None:
        if settings.max_length < 8 or settings.batch_size < 1 or not 0 <= settings.classifier_floor <= 1:
            raise ValueError("reranker.max_length must be at least 8, batch_size at least 1, classifier_floor in [0, 1]")
        self.settings = settings
        self.entry_classifier = entry_classifier

    @cached_property
    def model(self) -> CrossEncoder:
        try:
            return load_reranker_model(self.settings.model, self.settings.max_length, self.settings.quantize)
        except OSError as error:  # a missing folder read as a hub id, offline; unreadable weights
            raise ModelError(f"re-ranker '{self.settings.model}' cannot be loaded: {error}") from error

    @cached_property
    def calibration(self) -> Calibration:
        """The model's calibration (its `calibration.json`); the sigmoid of the logit for a model without one."""
        folder = Path(resolve_model(self.settings.model))
        if not (folder / CALIBRATION_FILE).is_file():
            return SIGMOID
        try:
            return load_calibration(folder)
        except ValueError as error:
            raise ModelError(f"re-ranker '{self.settings.model}': {error}") from error

    @property
    def reads_entry_classifier(self) -> bool:
        """Whether the calibration reads the knowledge base's entry classifier (and one is given)."""
        return self.entry_classifier is not None and self.calibration.classifier_weight != 0.0

    def load(self) -> None:
        """Load the model, its calibration and the entry classifier now (a broken calibration fails
        here, not in a turn)."""
        self.model  # noqa: B018
        self.calibration  # noqa: B018
        if self.reads_entry_classifier:
            self.entry_classifier.fitted()

    def run(self, query: str, hits: Sequence[Hit], vector: np.ndarray | None = None) -> list[Hit]:
        """The hits with `rerank_score` set (the calibrated probability), best first by the ranking score
        (ties keep the retriever's order); the entry classifier reads `vector`, the query's, and its text,
        and where it is fitted, a hit it gives under `classifier_floor` scores 0: no answer."""
        floor = 0.0
        classifier = self.entry_classifier.fitted() if vector is not None and self.reads_entry_classifier else None
        if classifier is not None:
            probabilities = classifier.probabilities(vector, [hit.entry_id for hit in hits], query)
            hits = [dataclasses.replace(hit, entry_probability=p) for hit, p in zip(hits, probabilities)]
            floor = self.settings.classifier_floor
        scored = score_hits(self.model, query, hits, self.calibration, self.settings.batch_size)
        order = sorted(range(len(hits)), key=lambda index: -scored[index][1])
        return [
            dataclasses.replace(hits[index], rerank_score=scored[index][0] if hits[index].entry_probability >= floor else 0.0)
            for index in order
        ]


@lru_cache(maxsize=4)
def load_reranker_model(reference: str, max_length: int, quantize: bool) -> CrossEncoder:
    """The cross-encoder, loaded once; with `quantize` (on a CPU) a copy with int8 linear layers."""
    model = load_cross_encoder(reference, max_length)
    return quantized(model) if quantize and model.device.type == "cpu" else model


def quantized(model: CrossEncoder) -> CrossEncoder:
    """A copy of `model` whose linear layers compute in int8 (PyTorch dynamic quantization)."""
    import torch

    copy = deepcopy(model)
    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(copy.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return copy
