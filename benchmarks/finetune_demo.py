"""`qa finetune --reranker` on the demo knowledge base, measured on the demo queries it never saw.

The shipped knowledge base (`knowledge_base/`) is loaded into a temporary data folder with the
default config (re-ranker on), and `qa finetune --reranker` runs there with its default options
(without re-indexing). The labelled demo queries (`benchmarks/data/demo_queries.jsonl`: none of
them is in the knowledge base) are then asked with each combination of the packaged or fine-tuned
bi-encoder and the shipped or fine-tuned re-ranker; the packaged pair is the baseline of the run.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from common import ROOT, save_results

from qa.config import Settings, load_settings
from qa.evaluation.evaluate import evaluate_on
from qa.evaluation.queries import read_queries
from qa.evaluation.runner import temporary_knowledge_base
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.training.finetune import finetune

DEMO_KB = ROOT / "knowledge_base"
DEMO_QUERIES = ROOT / "benchmarks" / "data" / "demo_queries.jsonl"
SHORT_NAMES = {
    "packaged bi-encoder, shipped re-ranker": "packaged\n+ shipped",
    "fine-tuned bi-encoder, shipped re-ranker": "tuned bi-encoder\n+ shipped",
    "packaged bi-encoder, fine-tuned re-ranker": "packaged\n+ tuned re-ranker",
    "fine-tuned bi-encoder and re-ranker": "both\ntuned",
}


def with_models(settings: Settings, embedder: str | None, reranker: str | None) -> Settings:
    """`settings` with another bi-encoder and / or re-ranker model (None: the configured one)."""
    if embedder:
        settings = settings.replace(embedder=dataclasses.replace(settings.embedder, model=embedder))
    if reranker:
        settings = settings.replace(reranker=dataclasses.replace(settings.reranker, model=reranker))
    return settings


def main() -> None:
    queries = read_queries(DEMO_QUERIES)
    results: dict[str, Any] = {"queries": len(queries), "systems": {}}
    with tempfile.TemporaryDirectory(prefix="qa-bench-finetune-demo-") as folder:
        settings = load_settings(data_dir=Path(folder) / "data").replace(knowledge_base=None)
        with tqdm_progress() as progress:
            ChatPipeline(settings).indexer.ingest([str(DEMO_KB)], progress=progress)
            tuned = finetune(settings, reindex=False, reranker=True, progress=progress)
        results["finetune"] = {
            "held_out": tuned.held_out,
            "training_pairs": tuned.pairs,
            "train_s": tuned.train_seconds,
            "run_s": tuned.total_seconds,
        }
        systems = {
            "packaged bi-encoder, shipped re-ranker": (None, None),
            "fine-tuned bi-encoder, shipped re-ranker": (str(tuned.model_dir), None),
            "packaged bi-encoder, fine-tuned re-ranker": (None, str(tuned.reranker_dir)),
            "fine-tuned bi-encoder and re-ranker": (str(tuned.model_dir), str(tuned.reranker_dir)),
        }
        for name, models in systems.items():
            with (
                tqdm_progress() as progress,
                temporary_knowledge_base(with_models(settings, *models), [str(DEMO_KB)], progress=progress) as kb,
            ):
                report, _ = evaluate_on(kb, queries, progress=progress)
            results["systems"][name] = {
                "retrieval": report["retrieval"],
                "reranked": report["reranked"],
                "accuracy": report["accuracy"],
                "oos_recall": report["oos"]["recall"],
            }
    print(
        f"\n{'demo queries (' + str(len(queries)) + ')':44}{'bi r@1':>8}{'r@1':>7}{'mrr@10':>8}{'accuracy':>10}{'oos rec.':>10}"
    )
    baseline = results["systems"]["packaged bi-encoder, shipped re-ranker"]
    for name, row in results["systems"].items():
        print(
            f"{name:44}{row['retrieval']['recall@1']:>8.3f}{row['reranked']['recall@1']:>7.3f}"
            f"{row['reranked']['mrr@10']:>8.3f}{row['accuracy']:>10.3f}{row['oos_recall']:>10.3f}"
        )
        row["mrr_ratio_vs_packaged"] = round(row["reranked"]["mrr@10"] / baseline["reranked"]["mrr@10"], 3)
    bars = {
        SHORT_NAMES[name]: {"re-ranked recall@1": row["reranked"]["recall@1"], "accuracy": row["accuracy"]}
        for name, row in results["systems"].items()
    }
    save_results("finetune_demo", results, bars, "demo queries", "qa finetune --reranker on the demo knowledge base")


if __name__ == "__main__":
    main()
