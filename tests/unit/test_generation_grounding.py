"""Grounding: sentences split with their citations, each scored against the passages."""

from __future__ import annotations

from generation_fakes import WordEncoder

from qa.generation.grounding import Grounder, numbers, split_sentences


def test_sentences_keep_their_citations_and_bullets_are_sentences() -> None:
    text = "Plus costs $5 [1]. It has 10 GB. [2] Steps:\n- open Settings\n2. choose Plan, e.g. the Plus plan."
    assert split_sentences(text) == [
        "Plus costs $5 [1].",
        "It has 10 GB. [2]",
        "Steps:",
        "open Settings",
        "choose Plan, e.g. the Plus plan.",
    ]
    assert split_sentences("  \n ") == []


def test_supported_and_unsupported_sentences_are_told_apart() -> None:
    grounder = Grounder(WordEncoder(), threshold=0.6)
    passages = ["Plus costs $5 per month. It includes 10 GB of storage.", "The Free plan has 1 GB."]
    claims = ["Plus costs $5 per month [2].", "Our office is in Paris and open on Sundays.", "The Free plan has 1 GB."]
    grounding = grounder.run(claims, passages)
    first, second, third = grounding.sentences
    assert first.score >= 0.99 and first.passage == 1  # the citation is not what is compared
    assert second.score < 0.3
    assert third.passage == 2
    assert [s.sentence for s in grounding.supported] == [claims[0], claims[2]]
    assert grounding.share == 2 / 3


def test_a_number_the_passage_lacks_makes_a_sentence_unsupported() -> None:
    grounder = Grounder(WordEncoder(), threshold=0.5)
    grounding = grounder.run(["Plus costs $7 per month.", "Plus costs $4.99 per month."], ["Plus costs $4.99 per month."])
    assert [s.numbers_match for s in grounding.sentences] == [False, True]
    assert [s.sentence for s in grounding.supported] == ["Plus costs $4.99 per month."]
    assert numbers("It is $1,000.50 for 12 months.") == {"1,000.50", "12"}


def test_repeated_sentences_count_once() -> None:
    grounding = Grounder(WordEncoder(), threshold=0.5).run(["Open Settings.", "Open Settings!"], ["Open Settings."])
    assert [s.repeat for s in grounding.sentences] == [False, True] and len(grounding.supported) == 1


def test_a_sentence_is_compared_with_each_sentence_of_a_passage() -> None:
    passage = "Exports are in Settings. " + " ".join(f"Filler sentence number {i} about colours." for i in range(30))
    grounding = Grounder(WordEncoder(), threshold=0.9).run(["Exports are in Settings."], [passage])
    assert len(grounding.supported) == 1


def test_no_sentences_or_no_passages_support_nothing() -> None:
    grounder = Grounder(WordEncoder(), threshold=0.5)
    assert grounder.run([], ["a passage"]).share == 0.0
    assert grounder.run(["A claim."], []).supported == ()
    assert grounder.run(["[1]"], ["a passage"]).sentences[0].score == 0.0  # a bare citation claims nothing
