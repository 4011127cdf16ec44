"""The logits processor that stops an answer from looping, while the prompt's phrases stay allowed."""

from __future__ import annotations

import torch

from qa.generation.generator import NoRepeatInAnswer


def banned(ids: list[int], answer_start: int, n: int = 3) -> set[int]:
    scores = torch.zeros(1, 10)
    out = NoRepeatInAnswer(answer_start, n)(torch.tensor([ids]), scores)
    return {int(i) for i in torch.nonzero(out[0] == float("-inf"))}


def test_a_token_that_would_repeat_an_ngram_of_the_answer_is_banned() -> None:
    assert banned([9, 9, 1, 2, 3, 1, 2], answer_start=2) == {3}  # "1 2 3" again
    assert banned([1, 2, 4, 1, 2, 5, 1, 2], answer_start=0) == {4, 5}


def test_ngrams_of_the_prompt_may_be_copied() -> None:
    assert banned([1, 2, 3, 7, 1, 2], answer_start=3) == set()  # "1 2 3" is in the prompt only
    assert banned([1, 2], answer_start=0) == set()
