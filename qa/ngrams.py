"""A logistic regression on texts' character n-grams: the words people use, which sentence vectors
blur. The entry classifier and the intent router each average one with their vectors' classifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


def fit_ngram_classifier(texts: Sequence[str], labels: Sequence[str], c: float) -> Pipeline:
    """TF-IDF of the texts' character n-grams (2 to 5, within words) and a logistic regression
    with inverse regularisation `c`; its classes are the sorted labels."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    return make_pipeline(vectorizer, LogisticRegression(C=c, max_iter=300)).fit(list(texts), list(labels))
