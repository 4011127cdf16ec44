"""One evaluation from start to end: load the queries, build the knowledge base, ask, report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.embedder import Embedder
from qa.evaluation.datasets import DEFAULT_DATASETS_DIR, dataset_evaluation
from qa.evaluation.queries import EvalQuery, EvaluationError, check_expected, read_queries, sample
from qa.evaluation.report import build_report
from qa.evaluation.runner import EvalKnowledgeBase, Outcome, ask_all, evaluation_pipeline, temporary_knowledge_base
from qa.progress import Progress, no_progress
from qa.types import Entry


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate: FAQ files and a queries file, or an intent data set."""

    kb_paths: tuple[str, ...] = ()
    queries: Path | None = None
    dataset: str | None = None
    datasets_dir: Path = DEFAULT_DATASETS_DIR
    split: str = "test"
    limit: int | None = None
    intents: int | None = None  # with a data set: only its first N intents
    rerank: bool | None = None  # None: as configured

    def __post_init__(self) -> None:
        if bool(self.kb_paths) == bool(self.dataset):
            raise EvaluationError("give either FAQ files (--kb) with --queries, or --dataset")
        if self.kb_paths and self.queries is None:
            raise EvaluationError("--kb needs --queries (a JSON Lines file of labelled queries)")
        if self.dataset and self.queries is not None:
            raise EvaluationError("--dataset builds its own queries; leave out --queries")
        if self.intents is not None and not self.dataset:
            raise EvaluationError("--intents goes with --dataset")


def evaluate(
    settings: Settings, request: EvalRequest, embedder: Embedder | None = None, progress: Progress = no_progress
) -> tuple[dict[str, Any], list[Outcome]]:
    """The report and the per-query outcomes of one evaluation, in a temporary knowledge base."""
    entries: Sequence[Entry] = ()
    if request.queries is not None:
        queries, origin = sample(read_queries(request.queries), request.limit), str(request.queries)
    else:
        entries, queries = dataset_evaluation(
            str(request.dataset), request.datasets_dir, request.split, request.limit, request.intents
        )
        origin = f"{request.dataset} {request.split}"
    with temporary_knowledge_base(settings, request.kb_paths, entries, embedder, progress) as kb:
        check_expected(queries, kb.entry_ids, origin)
        return evaluate_on(kb, queries, request.rerank, progress)


def evaluate_on(
    kb: EvalKnowledgeBase, queries: Sequence[EvalQuery], rerank: bool | None = None, progress: Progress = no_progress
) -> tuple[dict[str, Any], list[Outcome]]:
    """Ask `queries` of a built knowledge base; `rerank` turns the re-ranker on or off (None: as configured)."""
    pipeline = evaluation_pipeline(kb, rerank)
    outcomes = ask_all(pipeline, queries, progress)
    reranker = pipeline.settings.reranker.model if pipeline.reranker is not None else None
    return build_report(outcomes, pipeline.settings.threshold, reranker), outcomes
