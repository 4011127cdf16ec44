"""Fine-tuning on intent data sets: recall@1 on the test split before and after `qa finetune`.

The knowledge base has one entry per intent with 10 of its training utterances (seeded) as
alternate questions. `qa finetune` runs on it as a support team would run it (default options:
20% of the alternates held out and measured before/after, training, re-index), and the test
split's in-scope queries are asked through the pipeline (`qa eval`'s runner, bi-encoder only, no
intent routing) with the packaged bi-encoder (the baseline) and with the fine-tuned one.

Goals: recall@1 at least 3 points higher on each data set; one `qa finetune` run under 15 minutes
on 2 cores. The machine may be shared: the load average is recorded with each timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from common import SHARED_DATASETS, save_results

from qa.config import Settings, load_settings
from qa.embedder import Embedder
from qa.evaluation.datasets import dataset_evaluation
from qa.ingest.sources import LoadedKnowledge
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.training.finetune import finetune, measure
from qa.types import Entry

ALTERNATES = 10
GOAL_POINTS = 3.0
GOAL_RUN_S = 15 * 60


def knowledge_base(entries: tuple[Entry, ...], alternates: int, seed: int = 13) -> list[Entry]:
    """Each intent's entry with a seeded sample of `alternates` of its training utterances."""
    rng = random.Random(seed)
    return [
        dataclasses.replace(
            e, alternate_questions=tuple(rng.sample(e.alternate_questions, min(alternates, len(e.alternate_questions))))
        )
        for e in entries
    ]


def bench_settings(data_dir: Path) -> Settings:
    """The default config in `data_dir`, bi-encoder only (no re-ranker, no intent routing)."""
    settings = load_settings(data_dir=data_dir).replace(knowledge_base=None)
    return settings.replace(
        reranker=dataclasses.replace(settings.reranker, enabled=False),
        dialogue=dataclasses.replace(settings.dialogue, routing=False),
    )


def run(name: str, limit: int | None, alternates: int) -> dict[str, Any]:
    """Baseline, one `qa finetune` run, and the fine-tuned model on the test split of data set `name`."""
    all_entries, queries = dataset_evaluation(name, SHARED_DATASETS, "test")
    queries = [query for query in queries if query.in_scope]
    if limit:
        queries = random.Random(13).sample(queries, min(limit, len(queries)))
    entries = knowledge_base(all_entries, alternates)
    with tempfile.TemporaryDirectory(prefix="qa-bench-finetune-") as folder:
        settings = bench_settings(Path(folder) / "data")
        pipeline = ChatPipeline(settings)
        pipeline.indexer.ingest_knowledge(LoadedKnowledge(tuple(entries), (), (name,)))
        with tqdm_progress() as progress:
            print(f"{name}: baseline on {len(queries)} test queries")
            before = measure(settings, entries, queries, pipeline.embedder, progress)
            load_before, started = os.getloadavg()[0], time.perf_counter()
            result = finetune(settings, progress=progress)
            run_s, load_after = time.perf_counter() - started, os.getloadavg()[0]
            print(f"{name}: fine-tuned on {len(queries)} test queries")
            after = measure(
                settings,
                entries,
                queries,
                Embedder(dataclasses.replace(settings.embedder, model=str(result.model_dir))),
                progress,
            )
    return {
        "intents": len(entries),
        "alternates_per_intent": alternates,
        "test_queries": len(queries),
        "test_before": before["retrieval"],
        "test_after": after["retrieval"],
        "recall@1_points": round(100 * (after["retrieval"]["recall@1"] - before["retrieval"]["recall@1"]), 2),
        "heldout_queries": result.held_out,
        "heldout_before": result.before["retrieval"] if result.before else None,
        "heldout_after": result.after["retrieval"] if result.after else None,
        "training_pairs": result.pairs,
        "train_s": result.train_seconds,
        "run_s": round(run_s, 1),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["banking77", "clinc150"], choices=["banking77", "clinc150"])
    parser.add_argument(
        "--limit", type=int, help="a seeded sample of this many test queries (default: all in-scope ones)"
    )
    parser.add_argument(
        "--alternates", type=int, default=ALTERNATES, help="alternate questions per intent (default: %(default)s)"
    )
    args = parser.parse_args()
    if not SHARED_DATASETS.is_dir():
        raise SystemExit(f"no data sets at {SHARED_DATASETS}")
    results = {name: run(name, args.limit, args.alternates) for name in args.datasets}

    print(
        f"\n{'data set':12}{'queries':>9}{'recall@1 before':>17}{'after':>8}{'points':>8}{'mrr@10 before':>15}{'after':>8}{'run s':>8}{'load':>12}"
    )
    for name, row in results.items():
        before, after = row["test_before"], row["test_after"]
        load = "-".join(f"{value:.1f}" for value in row["load_average_1min"])
        print(
            f"{name:12}{row['test_queries']:>9}{before['recall@1']:>17.3f}{after['recall@1']:>8.3f}{row['recall@1_points']:>+8.1f}"
            f"{before['mrr@10']:>15.3f}{after['mrr@10']:>8.3f}{row['run_s']:>8.0f}{load:>12}"
        )
    results["goals"] = {"recall@1_points": GOAL_POINTS, "run_s": GOAL_RUN_S}
    results["met"] = all(
        row["recall@1_points"] >= GOAL_POINTS and row["run_s"] <= GOAL_RUN_S
        for key, row in results.items()
        if key in args.datasets
    )
    print(
        f"goals: recall@1 +{GOAL_POINTS:.0f} points, a run under {GOAL_RUN_S // 60} minutes: {'met' if results['met'] else 'NOT met'}"
    )
    bars = {
        f"{name} {label}": {"packaged": row[f"{key}_before"]["recall@1"], "fine-tuned": row[f"{key}_after"]["recall@1"]}
        for name, row in results.items()
        if name in args.datasets
        for label, key in (("test", "test"), ("held-out", "heldout"))
        if row[f"{key}_before"]
    }
    save_results(
        "finetune",
        results,
        bars,
        "recall@1",
        f"Bi-encoder before and after qa finetune ({args.alternates} alternates per intent)",
    )


if __name__ == "__main__":
    main()
