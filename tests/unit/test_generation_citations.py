"""Citations: [n] that name a passage of this turn are kept, the others are removed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qa.generation.citations import ensure_citation, filter_citations, strip_citations


def test_valid_citations_are_kept_and_invalid_ones_removed() -> None:
    result = filter_citations("Plus costs $5 [1]. It has 10 GB [2, 7]. Wrong [9]. Also [0].", n_passages=3)
    assert result.text == "Plus costs $5 [1]. It has 10 GB [2]. Wrong. Also."
    assert result.valid == (1, 2) and result.invalid == (7, 9, 0) and result.total == 5


def test_variants_small_models_write_are_normalized() -> None:
    assert filter_citations("Yes [Passage 2] and [passages 1 and 3]", 3).text == "Yes [2] and [1, 3]"
    assert filter_citations("Yes [1][1]", 1).text == "Yes [1] [1]"


def test_text_without_citations_is_unchanged_and_strip_removes_all() -> None:
    assert filter_citations("No citation here.", 2).text == "No citation here."
    assert strip_citations("Plus costs $5 [1] per month [2, 3].") == "Plus costs $5 per month."


def test_a_sentence_without_a_citation_gets_its_supporting_passage() -> None:
    assert ensure_citation("Plus costs $5 per month.", 2) == "Plus costs $5 per month [2]."
    assert ensure_citation("Open Settings", 1) == "Open Settings [1]"
    assert ensure_citation("Plus costs $5 [1].", 2) == "Plus costs $5 [1]."


@given(st.lists(st.integers(min_value=0, max_value=20), max_size=6), st.integers(min_value=0, max_value=10))
def test_only_numbers_of_this_turn_survive(numbers: list[int], n_passages: int) -> None:
    text = " ".join(f"Fact {i} [{n}]." for i, n in enumerate(numbers))
    result = filter_citations(text, n_passages)
    assert all(1 <= n <= n_passages for n in filter_citations(result.text, 99).valid)
    assert sorted(result.valid + result.invalid) == sorted(numbers)
