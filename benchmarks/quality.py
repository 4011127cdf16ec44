"""Answer quality: the bi-encoder alone vs re-ranked by the cross-encoder vs a BM25 baseline.

On the test splits of BANKING77 and CLINC150 (knowledge base: one entry per intent, train
utterances as alternate questions; CLINC150's out-of-scope test utterances included), and on the
demo knowledge base with benchmarks/data/demo_queries.jsonl when present. Each system is run in
the same process on the same knowledge base: the bi-encoder alone (the pipeline without its
re-ranker, answer threshold `retrieval.threshold`), the full pipeline (re-ranker, its calibrated
threshold), and BM25 (rank_bm25's Okapi BM25, one document per entry: its question and alternate
questions; ranking figures only, as it has no calibrated score). The ratios compare MRR@10
with the bi-encoder's.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import ROOT, SHARED_DATASETS, save_results

from qa.config import Settings, load_settings
from qa.evaluation.datasets import dataset_evaluation
from qa.evaluation.evaluate import evaluate_on
from qa.evaluation.metrics import ranking_figures
from qa.evaluation.queries import EvalQuery, read_queries
from qa.evaluation.runner import temporary_knowledge_base
from qa.ingest.sources import discover, load_knowledge
from qa.models import ModelError, resolve_model
from qa.progress import tqdm_progress
from qa.types import Entry

DEMO_QUERIES = ROOT / "benchmarks" / "data" / "demo_queries.jsonl"
DEMO_KB = ROOT / "knowledge_base"


def bm25_figures(entries: Sequence[Entry], queries: Sequence[EvalQuery]) -> dict[str, float]:
    """recall@1, recall@5, MRR@10 of Okapi BM25 over the entries (question + alternate questions)."""
    from rank_bm25 import BM25Okapi

    index = BM25Okapi([_tokens(" ".join((entry.question, *entry.alternate_questions))) for entry in entries])
    ids = [entry.id for entry in entries]
    ranks = []
    for query in queries:
        if query.in_scope:
            top = np.argsort(-index.get_scores(_tokens(query.text)), kind="stable")[:10]
            ranks.append(query.rank_in([ids[i] for i in top]))
    return ranking_figures(ranks)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def reranker_on(settings: Settings) -> Settings | None:
    """The settings with the re-ranker on, or None when its model folder is not there."""
    try:
        if not Path(resolve_model(settings.reranker.model)).is_dir():
            return None
    except ModelError:
        return None
    return settings.replace(reranker=dataclasses.replace(settings.reranker, enabled=True))


def measure(settings: Settings, name: str, entries: Sequence[Entry], queries: Sequence[EvalQuery], paths: Sequence[str] = ()) -> dict:
    """The three systems on one knowledge base."""
    result: dict = {"queries": len(queries), "bm25": bm25_figures(entries, queries)}
    reranking = reranker_on(settings)
    with tqdm_progress() as progress, temporary_knowledge_base(
        reranking or settings, paths, () if paths else entries, progress=progress
    ) as kb:
        result["bi_encoder"], _ = evaluate_on(kb, queries, rerank=False, progress=progress)
        if reranking is not None:
            result["reranked"], _ = evaluate_on(kb, queries, rerank=True, progress=progress)
    if "reranked" in result:
        result["mrr_ratio_reranked_vs_bi_encoder"] = round(
            result["reranked"]["reranked"]["mrr@10"] / result["bi_encoder"]["retrieval"]["mrr@10"], 3
        )
    result["mrr_ratio_bi_encoder_vs_bm25"] = round(result["bi_encoder"]["retrieval"]["mrr@10"] / result["bm25"]["mrr@10"], 3)
    print_rows(name, result)
    return result


def print_rows(name: str, result: dict) -> None:
    print(f"\n{name} ({result['queries']} queries)")
    print(f"  {'system':12}{'recall@1':>10}{'recall@5':>10}{'mrr@10':>9}{'accuracy':>10}{'oos rec.':>10}{'p50 ms':>8}{'p95 ms':>8}")
    rows = [("BM25", result["bm25"], None)]
    rows.append(("bi-encoder", result["bi_encoder"]["retrieval"], result["bi_encoder"]))
    if "reranked" in result:
        rows.append(("re-ranked", result["reranked"]["reranked"], result["reranked"]))
    for label, ranking, report in rows:
        line = f"  {label:12}{ranking['recall@1']:>10.3f}{ranking['recall@5']:>10.3f}{ranking['mrr@10']:>9.3f}"
        if report is not None:
            oos = report["oos"]["recall"]
            line += f"{report['accuracy']:>10.3f}{'' if oos is None else format(oos, '.3f'):>10}"
            line += f"{report['latency_ms']['p50']:>8.0f}{report['latency_ms']['p95']:>8.0f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="*", default=["banking77", "clinc150"])
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATASETS)
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--limit", type=int, help="a seeded sample of this many queries per data set")
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo knowledge base")
    args = parser.parse_args()
    settings = load_settings().replace(knowledge_base=None)
    results: dict = {"split": args.split, "limit": args.limit, "reranker": settings.reranker.model, "results": {}}
    for name in args.datasets:
        entries, queries = dataset_evaluation(name, args.data_dir, args.split, args.limit)
        results["results"][name] = measure(settings, name, entries, queries)
    if DEMO_QUERIES.is_file() and not args.no_demo:
        knowledge = load_knowledge(*discover([DEMO_KB]))
        results["results"]["demo"] = measure(settings, "demo", knowledge.entries, read_queries(DEMO_QUERIES), [str(DEMO_KB)])
    bars = {}
    for name, result in results["results"].items():
        for metric in ("recall@1", "mrr@10"):
            group = bars.setdefault(f"{name}\n{metric}", {"BM25": result["bm25"][metric]})
            group["bi-encoder"] = result["bi_encoder"]["retrieval"][metric]
            if "reranked" in result:
                group["re-ranked"] = result["reranked"]["reranked"][metric]
    save_results("quality", results, bars, ylabel="in-scope queries", title=f"Ranking quality ({args.split} splits)")


if __name__ == "__main__":
    main()
