"""Near-duplicate mining over hand-made unit vectors (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from qa.duplicates import DuplicatePair, Question, entry_questions, find_duplicates, mine_duplicates
from qa.types import Entry


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def q(text: str, entry: str, source: str = "faq.yaml") -> Question:
    return Question(text, entry, source)


def test_pairs_at_or_above_the_threshold_are_reported_once_per_pair_of_entries() -> None:
    questions = [q("reset password", "a"), q("forgot password", "a"), q("change password", "b"), q("price", "c")]
    vectors = np.stack([unit(1, 0, 0), unit(0.9, 0.1, 0), unit(0.95, 0.05, 0), unit(0, 0, 1)])

    pairs = mine_duplicates(questions, vectors, threshold=0.9)

    assert len(pairs) == 1  # a-b once, by its most similar questions; a's own questions never pair
    [pair] = pairs
    assert {pair.entry_id, pair.other_entry_id} == {"a", "b"}
    assert {pair.question, pair.other_question} == {"reset password", "change password"}
    assert pair.similarity == pytest.approx(float(unit(1, 0, 0) @ unit(0.95, 0.05, 0)), abs=1e-4)


def test_nothing_under_the_threshold() -> None:
    vectors = np.stack([unit(1, 0), unit(0, 1)])
    assert mine_duplicates([q("x", "a"), q("y", "b")], vectors, threshold=0.5) == ()


def test_questions_of_one_entry_never_pair_even_when_identical() -> None:
    vectors = np.stack([unit(1, 0), unit(1, 0)])
    assert mine_duplicates([q("x", "a"), q("x again", "a")], vectors, threshold=0.5) == ()


def test_same_entry_id_in_two_sources_is_two_entries() -> None:
    vectors = np.stack([unit(1, 0), unit(1, 0)])
    pairs = mine_duplicates([q("x", "a", "one.yaml"), q("x", "a", "two.yaml")], vectors, threshold=0.9)
    assert [(p.source, p.other_source) for p in pairs] == [("one.yaml", "two.yaml")]


def test_with_new_only_pairs_involving_a_new_question_count() -> None:
    questions = [q("new", "n"), q("old one", "o1"), q("old two", "o2")]
    vectors = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 1, 0.01)])  # the two old ones are duplicates

    assert mine_duplicates(questions, vectors, threshold=0.9, new=1) == ()
    assert len(mine_duplicates(questions, vectors, threshold=0.9)) == 1


def test_new_questions_pair_with_each_other_once_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.duplicates.BLOCK", 2)  # rows in several blocks
    questions = [q(f"t{i}", f"e{i}") for i in range(5)]
    vectors = np.stack([unit(1, 0)] * 5)

    pairs = mine_duplicates(questions, vectors, threshold=0.9, new=3)

    found = {frozenset((p.entry_id, p.other_entry_id)) for p in pairs}
    assert len(pairs) == len(found) == 3 * 2 + 3  # new-new pairs and new-old pairs, each once (old-old left out)


def test_mismatched_vectors_are_an_error() -> None:
    with pytest.raises(ValueError, match="one vector"):
        mine_duplicates([q("x", "a")], np.zeros((2, 2), dtype=np.float32), threshold=0.9)


def test_find_duplicates_embeds_entries_and_their_alternates() -> None:
    entries = [
        Entry("a", "How do I reset my password?", "Link.", "faq.yaml", alternate_questions=("lost password",)),
        Entry("b", "Password lost, help", "Link.", "faq.yaml"),
    ]
    table = {
        "How do I reset my password?": unit(1, 0),
        "lost password": unit(0, 1),
        "Password lost, help": unit(0.05, 1),
    }

    pairs = find_duplicates(entries, lambda texts: np.stack([table[t] for t in texts]), threshold=0.9)

    assert [(p.question, p.other_question) for p in pairs] == [("lost password", "Password lost, help")]
    assert [x.text for x in entry_questions(entries)] == list(table)


def test_describe_names_both_entries() -> None:
    line = DuplicatePair("a?", "x.yaml", "b?", "y.yaml", 0.93, "a", "b").describe()
    assert line.startswith("0.93") and "x.yaml: a" in line and "y.yaml: b" in line
