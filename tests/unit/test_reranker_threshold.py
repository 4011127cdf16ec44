"""The re-ranker's threshold choice on val: a target out of reach does not move it."""

from __future__ import annotations

import numpy as np

from qa.training.intent_datasets import Query
from qa.training.reranker import Candidates, choose_threshold, figures
from qa.types import Hit


def hit(entry_id: str) -> Hit:
    return Hit(entry_id, entry_id, entry_id, "test", "faq", 0.5)


def split(name: str, in_scope: np.ndarray, out_of_scope: np.ndarray) -> tuple[list[Candidates], list[np.ndarray]]:
    """Queries whose right entry is ranked first with these scores, and out-of-scope queries' best scores."""
    items, scores = [], []
    for score in in_scope:
        items.append(Candidates(Query("q", f"{name}-right"), (hit(f"{name}-right"), hit("other"))))
        scores.append(np.asarray([score, score / 2]))
    for score in out_of_scope:
        items.append(Candidates(Query("q", None), (hit(f"{name}-right"),)))
        scores.append(np.asarray([score]))
    return items, scores


def test_an_unreachable_target_of_another_data_set_does_not_move_the_threshold() -> None:
    a_items, a_scores = split("a", np.linspace(0.3, 0.99, 40), np.linspace(0.0, 0.6, 40))
    b_items, b_scores = split("b", np.linspace(0.0, 1.0, 40), np.asarray([]))
    targets = {"a_accuracy": 0.6, "a_oos_recall": 0.6, "b_accuracy": 0.99}

    alone = choose_threshold({"a": a_items}, {"a": a_scores}, targets)
    both = choose_threshold({"a": a_items, "b": b_items}, {"a": a_scores, "b": b_scores}, targets)

    assert both == alone
    result = figures(a_items, a_scores, alone)
    assert result["accuracy"] >= 0.6 and result["oos_recall"] >= 0.6
    assert figures(b_items, b_scores, 0.0)["accuracy"] == 1.0  # b's target pulls towards 0 ...
    assert alone > 0.3  # ... which would let every out-of-scope query of a through
