"""`qa eval`: a temporary isolated knowledge base, the report, the CLI outputs, data sets, re-ranking."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from qa.cli import main
from qa.config import Settings
from qa.embedder import Embedder
from qa.evaluation.evaluate import EvalRequest, evaluate, evaluate_on
from qa.evaluation.queries import EvalQuery, EvaluationError
from qa.evaluation.runner import temporary_knowledge_base
from qa.reranking_model import Calibration

ISSUE_KEYS = {"n", "n_in_scope", "retrieval", "reranked", "oos", "accuracy", "latency_ms"}
FAQ = [
    ("reset-password", "How do I reset my password?", "Use the Forgot password link.", ["I forgot my password"]),
    ("plus-price", "How much does the Plus plan cost?", "Plus costs 5 dollars a month.", ["price of plus"]),
    ("team-price", "How much does the Team plan cost?", "Team costs 8 dollars per user.", ["price of team"]),
    ("enable-2fa", "How do I turn on two-factor authentication?", "Open Settings > Security.", ["set up 2FA"]),
    ("export-notes", "How can I export my notes?", "Choose File > Export.", ["download all my notes"]),
    ("delete-account", "How do I delete my account?", "Open Settings > Account > Delete.", ["close my account"]),
]
QUERIES = [
    {"query": "I can't remember my password", "expected": "reset-password", "kind": "account"},
    {"query": "what does the plus plan cost", "expected": ["plus-price"]},
    {"query": "how do I enable two factor authentication", "expected": "enable-2fa", "kind": "account"},
    {"query": "export all of my notes", "expected": "export-notes"},
    {"query": "and for teams?", "expected": "team-price", "history": ["how much is plus"]},
    {"query": "what is the capital of Australia", "expected": None},
    {"query": "recommend a good pizza recipe", "expected": None},
]


@pytest.fixture
def faq_file(tmp_path: Path) -> Path:
    entries = [{"id": i, "question": q, "answer": a, "alternate_questions": alt} for i, q, a, alt in FAQ]
    path = tmp_path / "faq.yaml"
    path.write_text(yaml.safe_dump({"entries": entries}), encoding="utf-8")
    return path


@pytest.fixture
def queries_file(tmp_path: Path) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text("".join(json.dumps(query) + "\n" for query in QUERIES), encoding="utf-8")
    return path


def no_rerank(settings: Settings) -> Settings:
    return settings.replace(reranker=dataclasses.replace(settings.reranker, enabled=False))


def test_report_on_a_small_faq_in_an_isolated_index(
    settings: Settings, embedder: Embedder, faq_file: Path, queries_file: Path
) -> None:
    request = EvalRequest(kb_paths=(str(faq_file),), queries=queries_file)
    report, outcomes = evaluate(no_rerank(settings), request, embedder=embedder)
    assert ISSUE_KEYS <= set(report)
    assert (report["n"], report["n_in_scope"]) == (7, 5)
    retrieval = report["retrieval"]
    assert retrieval["recall@1"] <= retrieval["recall@5"] <= 1.0
    assert retrieval["recall@1"] <= retrieval["mrr@10"] <= retrieval["recall@5"]
    assert retrieval["recall@5"] == 1.0, "each easy query finds its entry among 6"
    assert report["reranked"] == retrieval and report["reranker"] is None
    assert report["accuracy"] >= 5 / 7
    assert report["oos"]["threshold"] == settings.retrieval.threshold
    assert 0 <= report["oos"]["recall"] <= 1 and report["oos"]["best_f1"] >= report["oos"]["f1"]
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"]
    assert set(report["by_kind"]) == {"account"}
    assert outcomes[4].query.history == ("how much is plus",) and outcomes[4].retrieved
    assert not settings.data_dir.exists(), "the user's data folder is never touched"


def test_cli_writes_the_json_the_errors_and_the_plot(
    settings: Settings, faq_file: Path, queries_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code = main(
        ["--data-dir", str(settings.data_dir), "eval", "--kb", str(faq_file), "--queries", str(queries_file),
         "--json", str(out / "report.json"), "--errors", str(out / "errors.jsonl"), "--plot", str(out / "eval.png")]
    )
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert ISSUE_KEYS <= set(report) and report["n"] == 7
    assert "recall@1" in capsys.readouterr().out
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert all(error["error"] in ("false_positive", "false_negative") for error in errors)
    assert len(errors) == round(report["n"] * (1 - report["accuracy"]))
    assert (out / "eval.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not settings.data_dir.exists()


def test_unknown_expected_ids_and_missing_output_folders_are_clear_errors(
    settings: Settings, faq_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "typo.jsonl"
    queries.write_text('{"query": "reset my password", "expected": "reset-pasword"}\n', encoding="utf-8")
    args = ["--data-dir", str(settings.data_dir), "eval", "--kb", str(faq_file), "--queries", str(queries)]
    assert main(args) == 2
    assert "typo.jsonl:1: expected 'reset-pasword' is not in the knowledge base" in capsys.readouterr().err
    assert main([*args, "--json", str(tmp_path / "missing" / "r.json")]) == 2
    assert "no folder for the output" in capsys.readouterr().err
    with pytest.raises(EvaluationError, match="--queries"):
        EvalRequest(kb_paths=(str(faq_file),))


def test_a_data_set_run_on_a_subsample(settings: Settings, embedder: Embedder, shared_datasets: Path) -> None:
    request = EvalRequest(dataset="clinc150", datasets_dir=shared_datasets, intents=4, limit=24)
    report, outcomes = evaluate(no_rerank(settings), request, embedder=embedder)
    assert report["n"] == 24 and set(report["by_kind"]) <= {"in_scope", "out_of_scope"}
    assert report["n"] - report["n_in_scope"] == report["by_kind"]["out_of_scope"]["n"]
    assert report["oos"]["recall"] is not None
    kept = {entry_id for o in outcomes for entry_id in o.retrieved}
    assert len(kept) == 4, "the knowledge base holds the first 4 intents only"
    assert all(o.query.expected[0] in kept for o in outcomes if o.query.in_scope)


def test_re_ranked_figures_come_from_the_cross_encoder(
    settings: Settings,
    embedder: Embedder,
    faq_file: Path,
    make_cross_encoder: Callable[[Calibration | None], Path],
) -> None:
    # A calibration that ranks by the bi-encoder's similarity, reversed: re-ranking must then hurt.
    folder = make_cross_encoder(Calibration(logit_weight=0.0, similarity_weight=-10.0, bias=5.0, threshold=0.5))
    reranker = dataclasses.replace(settings.reranker, enabled=True, model=str(folder), max_length=32, threshold=0.5)
    queries = [EvalQuery(q["query"], (q["expected"],) if isinstance(q["expected"], str) else None) for q in QUERIES[:4]]
    with temporary_knowledge_base(settings.replace(reranker=reranker), [str(faq_file)], embedder=embedder) as kb:
        report, outcomes = evaluate_on(kb, queries)
        plain, _ = evaluate_on(kb, queries, rerank=False)
    assert report["reranker"] == str(folder) and report["oos"]["threshold"] == 0.5
    assert report["retrieval"] == plain["retrieval"]
    assert report["reranked"]["recall@1"] < report["retrieval"]["recall@1"]
    assert all(hit.rerank_score is not None for o in outcomes for hit in o.ranked)
    assert all(o.ranked[0].score <= o.ranked[-1].score for o in outcomes)
