"""The knowledge base's entry classifier: which entry a query (its vector and its words) belongs to.

A logistic regression is fitted on every stored vector of the knowledge base (questions, alternate
questions, "question\\nanswer", passages), each labelled with its entry, and another on the stored
texts' character n-grams (the words people use, which the vectors blur); their probabilities are
averaged. The probability that a hit's entry is the query's is one of the re-ranker's features:
where an entry has many phrasings (an intent with a hundred examples) it learns what they share,
which the nearest vectors miss.
On the demo FAQ (a question and a few alternates per entry) it did not help (README), so below
`min_vectors` stored vectors per entry on average it is not fitted: every probability is 0 and the
ranking is the calibrated score's. It is learned again after every change of the knowledge base,
on first use.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from qa.store import Record

CLASSIFIER_C = 10.0  # chosen on the val splits of BANKING77 and CLINC150 (1, 10, 100)
TEXT_SHARE = 0.5  # the n-gram classifier's share of the probability (val splits: 0.2, 0.3, 0.5 about equal)


class StoredVectors(Protocol):
    """The knowledge base as the classifier sees it (a `KnowledgeStore`)."""

    def generation(self) -> str | None: ...

    def records(self, with_embeddings: bool = False) -> Iterable[Record]: ...


@dataclass(frozen=True)
class FittedClassifier:
    """A fitted logistic regression, the column of each entry id, and the n-gram classifier."""

    weights: np.ndarray  # (entries, dimension); one row and a zero bias for a single entry
    bias: np.ndarray
    columns: dict[str, int]
    text_model: Pipeline | None = None  # TF-IDF of character n-grams and its logistic regression; classes in column order

    def probabilities(self, vector: np.ndarray, entry_ids: Sequence[str], text: str | None = None) -> list[float]:
        """The probability of each of `entry_ids` (0 for an id the knowledge base does not hold),
        from the query's `vector` and, where there is an n-gram classifier, its `text`."""
        if len(self.columns) == 1:
            return [float(entry_id in self.columns) for entry_id in entry_ids]
        logits = self.weights @ np.asarray(vector, dtype=np.float64) + self.bias
        shares = np.exp(logits - logits.max())
        shares /= shares.sum()
        if self.text_model is not None and text is not None:
            shares = (1 - TEXT_SHARE) * shares + TEXT_SHARE * self.text_model.predict_proba([text])[0]
        return [float(shares[self.columns[entry_id]]) if entry_id in self.columns else 0.0 for entry_id in entry_ids]


def fit_classifier(vectors: np.ndarray, entry_ids: Sequence[str], texts: Sequence[str] | None = None) -> FittedClassifier | None:
    """The classifier of these labelled vectors, and of their `texts` when given (None without any)."""
    if not len(entry_ids):
        return None
    classes = sorted(set(entry_ids))
    columns = {entry_id: column for column, entry_id in enumerate(classes)}
    if len(classes) == 1:
        return FittedClassifier(np.zeros((1, vectors.shape[1])), np.zeros(1), columns)
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():  # an unconverged fit still ranks well; say nothing in a turn
        warnings.simplefilter("ignore")
        fitted = LogisticRegression(C=CLASSIFIER_C, max_iter=300).fit(vectors, entry_ids)
        text_model = _fit_text_model(texts, entry_ids) if texts and any(map(str.strip, texts)) else None
    weights, bias = fitted.coef_, fitted.intercept_
    if len(classes) == 2:  # scikit-learn keeps one row for two classes: p(second) = sigmoid(row)
        weights, bias = np.vstack([-weights / 2, weights / 2]), np.concatenate([-bias / 2, bias / 2])
    order = np.argsort([columns[str(name)] for name in fitted.classes_])
    return FittedClassifier(weights[order], bias[order], columns, text_model)


def _fit_text_model(texts: Sequence[str], entry_ids: Sequence[str]) -> Pipeline:
    """A logistic regression on the texts' character n-grams (2 to 5, within words); its classes
    are the sorted entry ids, the columns of `FittedClassifier`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    return make_pipeline(vectorizer, LogisticRegression(C=CLASSIFIER_C, max_iter=300)).fit(list(texts), list(entry_ids))


class EntryClassifier:
    """The classifier of the knowledge base as it is now (fitted again after every change)."""

    def __init__(self, knowledge: StoredVectors, min_vectors: float = 0.0) -> None:
        if min_vectors < 0:
            raise ValueError("reranker.classifier_min_vectors must be at least 0")
        self.knowledge = knowledge
        self.min_vectors = min_vectors
        self._fitted: tuple[str | None, FittedClassifier | None] | None = None  # (generation, classifier)
        self._lock = threading.Lock()

    def fitted(self) -> FittedClassifier | None:
        """The classifier of the live generation (None: an empty knowledge base, or too few vectors per entry)."""
        generation = self.knowledge.generation()
        with self._lock:
            if self._fitted is None or self._fitted[0] != generation:
                self._fitted = (generation, self._fit())
            return self._fitted[1]

    def _fit(self) -> FittedClassifier | None:
        """The classifier of the stored vectors; the gate reads the metadata alone (an FAQ's vectors
        are not loaded for nothing)."""
        entry_ids = [_entry_id(record) for record in self.knowledge.records()]
        if not entry_ids or len(entry_ids) < self.min_vectors * len(set(entry_ids)):
            return None
        records = [record for record in self.knowledge.records(with_embeddings=True) if record.embedding is not None]
        vectors = np.stack([np.asarray(record.embedding, dtype=np.float32) for record in records])
        return fit_classifier(vectors, [_entry_id(record) for record in records], [record.document for record in records])


def _entry_id(record: Record) -> str:
    return str(record.metadata.get("entry_id", record.id))
