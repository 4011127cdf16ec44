"""The queries file of `qa eval`: parsing, errors with line numbers, matching, sampling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluation.queries import EvalQuery, EvaluationError, check_expected, read_queries, sample


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines), encoding="utf-8")
    return path


def test_reads_every_form_of_expected_and_keeps_extra_keys_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"query": "reset password", "expected": "reset-password", "note": "ignored"},
        "",
        {"query": "price?", "expected": ["plus-price", "team-price"], "kind": "price"},
        {"query": "weather", "expected": None, "intent": "out_of_scope"},
        {"query": "and for teams?", "expected": "team-price", "history": ["how much is plus"]},
    )
    queries = read_queries(path)
    assert [q.expected for q in queries] == [("reset-password",), ("plus-price", "team-price"), None, ("team-price",)]
    assert [q.line for q in queries] == [1, 3, 4, 5]
    assert queries[1].kind == "price" and queries[2].intent == "out_of_scope"
    assert queries[3].history == ("how much is plus",)
    assert not queries[2].in_scope


def test_every_bad_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"query": "ok", "expected": "a"},
        "{not json",
        {"query": "", "expected": "a"},
        {"query": "no expected"},
        {"query": "bad history", "expected": "a", "history": "earlier"},
        {"query": "bad expected", "expected": []},
        ["a", "list"],
    )
    with pytest.raises(EvaluationError) as error:
        read_queries(path)
    message = str(error.value)
    for number in (2, 3, 4, 5, 6, 7):
        assert f"queries.jsonl:{number}:" in message
    assert "queries.jsonl:1:" not in message
    assert "'expected' is missing" in message


def test_missing_or_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="cannot read"):
        read_queries(tmp_path / "nope.jsonl")
    with pytest.raises(EvaluationError, match="no queries"):
        read_queries(write(tmp_path, "", "  "))


def test_a_document_id_matches_each_of_its_passages_only() -> None:
    query = EvalQuery("install", ("doc:kb/guide.md",))
    assert query.matches("doc:kb/guide.md#ab12")
    assert not query.matches("doc:kb/guide.md.bak#ab12")
    assert not query.matches("doc:kb/other.md#ab12")
    assert query.rank_in(["faq-1", "doc:kb/guide.md#ff", "doc:kb/guide.md#aa"]) == 2
    assert EvalQuery("x", ("a",)).rank_in(["b", "c"]) is None
    assert not EvalQuery("x", None).matches("a")


def test_unknown_expected_ids_are_named() -> None:
    queries = [EvalQuery("a", ("known",), line=1), EvalQuery("b", ("typo",), line=2), EvalQuery("c", ("doc:kb/g.md",), line=3)]
    check_expected(queries[:1] + queries[2:], {"known", "doc:kb/g.md#1"}, "q.jsonl")
    with pytest.raises(EvaluationError, match=r"q.jsonl:2: expected 'typo'"):
        check_expected(queries, {"known", "doc:kb/g.md#1"}, "q.jsonl")


def test_sample_is_seeded_and_keeps_the_order() -> None:
    queries = [EvalQuery(str(i), None, line=i) for i in range(100)]
    chosen = sample(queries, 10)
    assert chosen == sample(queries, 10)
    assert [q.line for q in chosen] == sorted(q.line for q in chosen)
    assert len(chosen) == 10 and sample(queries, None) == queries
