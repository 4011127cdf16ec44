"""The knowledge base's entry classifier (a logistic regression on stored vectors, no model loaded)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qa.entry_classifier import EntryClassifier, fit_classifier
from qa.store import Record


def clustered(entries: int, per_entry: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit vectors around one random centre per entry, labelled with the entry."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(entries, 16))
    vectors = np.repeat(centres, per_entry, axis=0) + 0.3 * rng.normal(size=(entries * per_entry, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), [f"e{i}" for i in range(entries) for _ in range(per_entry)]


def test_probabilities_are_those_of_the_logistic_regression() -> None:
    from sklearn.linear_model import LogisticRegression

    vectors, labels = clustered(5, 6)
    fitted = fit_classifier(vectors, labels)
    reference = LogisticRegression(C=10.0, max_iter=300).fit(vectors, labels)
    query = vectors[7]
    expected = dict(zip(reference.classes_, reference.predict_proba(query[None, :])[0]))
    assert fitted.probabilities(query, ["e3", "e1", "e0"]) == pytest.approx([expected["e3"], expected["e1"], expected["e0"]], abs=1e-6)
    assert sum(fitted.probabilities(query, [f"e{i}" for i in range(5)])) == pytest.approx(1.0)
    assert max(range(5), key=lambda i: fitted.probabilities(query, [f"e{i}"])[0]) == 1  # vector 7 is e1's


def test_the_words_of_the_query_share_the_probability_with_its_vector() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectors, labels = clustered(3, 4)
    topics = {"e0": "my card was stolen", "e1": "what is the top up limit", "e2": "wrong exchange rate"}
    texts = [f"{topics[label]} {n}" for n, label in enumerate(labels)]
    with_words, vectors_alone = fit_classifier(vectors, labels, texts), fit_classifier(vectors, labels)
    words = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True), LogisticRegression(C=10.0, max_iter=300))
    words.fit(texts, labels)
    ids, query, text = ["e0", "e1", "e2"], vectors[5], "someone stole my card"  # the vector is e1's, the words e0's
    expected = 0.5 * np.asarray(vectors_alone.probabilities(query, ids)) + 0.5 * words.predict_proba([text])[0]
    assert with_words.probabilities(query, ids, text) == pytest.approx(expected, abs=1e-6)
    assert with_words.probabilities(query, ids, text)[0] > vectors_alone.probabilities(query, ids)[0]
    assert with_words.probabilities(query, ids) == vectors_alone.probabilities(query, ids)  # no text: the vector alone


def test_two_entries_and_one_entry_and_unknown_ids() -> None:
    vectors, labels = clustered(2, 5)
    two = fit_classifier(vectors, labels)
    first, second = two.probabilities(vectors[0], ["e0", "e1"])
    assert first + second == pytest.approx(1.0)
    assert first > 0.5 > second
    assert two.probabilities(vectors[0], ["gone"]) == [0.0]
    one = fit_classifier(vectors[:5], labels[:5])
    assert one.probabilities(vectors[0], ["e0", "gone"]) == [1.0, 0.0]
    assert fit_classifier(np.empty((0, 16)), []) is None


class FakeStore:
    def __init__(self, records: list[Record]) -> None:
        self.records_now, self.name, self.reads = records, "g1", 0  # reads: of the embeddings

    def generation(self) -> str | None:
        return self.name

    def records(self, with_embeddings: bool = False) -> list[Record]:
        self.reads += with_embeddings
        return self.records_now if with_embeddings else [dataclasses.replace(r, embedding=None) for r in self.records_now]


def test_the_classifier_is_fitted_again_only_after_a_change() -> None:
    vectors, labels = clustered(3, 4)
    store = FakeStore([Record(f"r{i}", "text", {"entry_id": label}, vector) for i, (label, vector) in enumerate(zip(labels, vectors))])
    classifier = EntryClassifier(store)
    before = classifier.fitted().probabilities(vectors[0], ["e0", "e2"])
    classifier.fitted().probabilities(vectors[0], ["e0"])
    assert store.reads == 1
    assert before[0] > before[1]
    store.records_now, store.name = store.records_now[4:], "g2"  # e0 deleted
    assert classifier.fitted().probabilities(vectors[0], ["e0"]) == [0.0]
    assert store.reads == 2
    store.records_now, store.name = [], "g3"
    assert classifier.fitted() is None  # an empty knowledge base: no classifier, no probabilities
    assert store.reads == 2


def test_too_few_vectors_per_entry_fit_nothing() -> None:
    vectors, labels = clustered(3, 4)
    store = FakeStore([Record(f"r{i}", "text", {"entry_id": label}, vector) for i, (label, vector) in enumerate(zip(labels, vectors))])
    assert EntryClassifier(store, min_vectors=5).fitted() is None
    assert store.reads == 0, "the gate reads no embeddings"
    assert EntryClassifier(store, min_vectors=4).fitted() is not None
    with pytest.raises(ValueError, match="classifier_min_vectors"):
        EntryClassifier(store, min_vectors=-1)
