"""Fine-tuning on intent data sets: recall@1 on the test split before and after `qa finetune`.

The knowledge base has one entry per intent with 10 of its training utterances (seeded) as
alternate questions. `qa finetune` runs on it as a support team would run it (default options:
20% of the alternates held out and measured before/after, training, re-index), and the test
split's in-scope queries (`--split val` for tuning: a slice of the training utterances that
the knowledge base never saw) are retrieved from the same knowledge base (`qa eval`'s temporary index
and ranking figures, bi-encoder only; the queries are embedded in batches, which ranks them as
one turn at a time would) with the packaged bi-encoder (the baseline) and with the fine-tuned one.

Goals: recall@1 at least 3 points higher on each data set; one `qa finetune` run under 15 minutes
on 2 cores. The machine may be shared: the load average is recorded with each timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RESULTS, SHARED_DATASETS, save_results

from qa.config import Settings, load_settings
from qa.embedder import Embedder
from qa.evaluation.datasets import dataset_evaluation
from qa.evaluation.metrics import ranking_figures
from qa.evaluation.queries import EvalQuery
from qa.evaluation.runner import temporary_knowledge_base
from qa.ingest.sources import LoadedKnowledge
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.training.bi_encoder import TrainingOptions
from qa.training.finetune import finetune
from qa.types import Entry

NAMES = ("banking77", "clinc150")
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


def rank_queries(
    settings: Settings, entries: list[Entry], queries: list[EvalQuery], embedder: Embedder
) -> dict[str, float]:
    """recall@1, recall@5 and MRR@10 of the bi-encoder's retrieval of `queries` from `entries`."""
    with temporary_knowledge_base(settings, entries=entries, embedder=embedder) as kb:
        retriever = ChatPipeline(kb.settings, embedder=embedder).retriever
        vectors = embedder.run([query.text for query in queries], show_progress=True)
        ranks = [
            query.rank_in([hit.entry_id for hit in retriever.run(vector)]) for query, vector in zip(queries, vectors)
        ]
    return {name: round(value, 4) for name, value in ranking_figures(ranks).items()}


def run(name: str, args: argparse.Namespace, options: TrainingOptions) -> dict[str, Any]:
    """Baseline, one `qa finetune` run, and the fine-tuned model on `args.split` of data set `name`."""
    all_entries, queries = dataset_evaluation(name, SHARED_DATASETS, args.split, intents=args.intents)
    queries = [query for query in queries if query.in_scope]
    if args.limit:
        queries = random.Random(13).sample(queries, min(args.limit, len(queries)))
    entries = knowledge_base(all_entries, args.alternates)
    with tempfile.TemporaryDirectory(prefix="qa-bench-finetune-") as folder:
        settings = bench_settings(Path(folder) / "data")
        pipeline = ChatPipeline(settings)
        pipeline.indexer.ingest_knowledge(LoadedKnowledge(tuple(entries), (), (name,)))
        print(f"{name}: the packaged bi-encoder on {len(queries)} {args.split} queries")
        before = rank_queries(settings, entries, queries, pipeline.embedder)
        load_before, cpu_before, started = os.getloadavg(), time.process_time(), time.perf_counter()
        with tqdm_progress() as progress:
            result = finetune(settings, options, holdout=args.holdout, progress=progress)
        run_s, cpu_s, load_after = time.perf_counter() - started, time.process_time() - cpu_before, os.getloadavg()
        print(f"{name}: the fine-tuned bi-encoder on {len(queries)} {args.split} queries")
        tuned = Embedder(dataclasses.replace(settings.embedder, model=str(result.model_dir)))
        after = rank_queries(settings, entries, queries, tuned)
    print(f"{name}: recall@1 {before['recall@1']:.4f} → {after['recall@1']:.4f}; run {run_s:.0f} s, CPU {cpu_s:.0f} s")
    return {
        "intents": len(entries),
        "alternates_per_intent": args.alternates,
        f"{args.split}_queries": len(queries),
        f"{args.split}_before": before,
        f"{args.split}_after": after,
        "recall@1_points": round(100 * (after["recall@1"] - before["recall@1"]), 2),
        "holdout": args.holdout,
        "heldout_queries": result.held_out,
        "heldout_before": result.before["retrieval"] if result.before else None,
        "heldout_after": result.after["retrieval"] if result.after else None,
        "training_pairs": result.pairs,
        "train_s": result.train_seconds,
        "run_s": round(run_s, 1),
        "run_cpu_s": round(cpu_s, 1),
        "load_average_at_start": [round(value, 2) for value in load_before],
        "load_average_at_end": [round(value, 2) for value in load_after],
        "cpus": os.cpu_count(),
    }


def earlier_rows(path: Path, options: TrainingOptions, alternates: int) -> dict[str, Any]:
    """The data sets' rows of the results saved at `path`, when they were measured with the same options."""
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved.get("training_options") != dataclasses.asdict(options):
        return {}
    return {name: saved[name] for name in NAMES if saved.get(name, {}).get("alternates_per_intent") == alternates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(NAMES), choices=NAMES)
    parser.add_argument(
        "--limit", type=int, help="a seeded sample of this many test queries (default: all in-scope ones)"
    )
    parser.add_argument(
        "--alternates", type=int, default=ALTERNATES, help="alternate questions per intent (default: %(default)s)"
    )
    parser.add_argument("--intents", type=int, help="only the first N intents of each data set (a quick check)")
    parser.add_argument("--split", default="test", choices=["test", "val"], help="the queries (tune on val)")
    for flag, kind in (
        ("--epochs", int),
        ("--rounds", int),
        ("--max-pairs", int),
        ("--batch-size", int),
        ("--learning-rate", float),
        ("--tuned-share", float),
    ):
        parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, help="training option (default: qa finetune's)")
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.2,
        help="share of the alternates qa finetune holds out (default: %(default)s)",
    )
    parser.add_argument("--no-hard-negatives", dest="hard_negatives", action="store_false", default=argparse.SUPPRESS)
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other data sets' rows of a saved run with the same options and split",
    )
    args = parser.parse_args()
    options = TrainingOptions(
        **{
            key: getattr(args, key)
            for key in ("epochs", "rounds", "max_pairs", "batch_size", "learning_rate", "tuned_share", "hard_negatives")
            if key in args
        }
    )
    if not SHARED_DATASETS.is_dir():
        raise SystemExit(f"no data sets at {SHARED_DATASETS}")
    output = "finetune" if args.split == "test" else f"finetune_{args.split}"
    results: dict[str, Any] = {name: run(name, args, options) for name in args.datasets}
    if args.merge:
        results = earlier_rows(RESULTS / f"{output}.json", options, args.alternates) | results
    names = [name for name in NAMES if name in results]
    results["training_options"] = dataclasses.asdict(options)

    print(
        f"\n{'data set':11}{'queries':>8}{'recall@1':>10}{'after':>8}{'points':>8}{'mrr@10':>8}{'after':>8}{'run s':>7}{'cpu s':>7}  load (1/5/15 min, at end)"
    )
    rows = [results[name] for name in names]
    for name, row in zip(names, rows):
        before, after = row[f"{args.split}_before"], row[f"{args.split}_after"]
        print(
            f"{name:11}{row[f'{args.split}_queries']:>8}{before['recall@1']:>10.3f}{after['recall@1']:>8.3f}{row['recall@1_points']:>+8.1f}"
            f"{before['mrr@10']:>8.3f}{after['mrr@10']:>8.3f}{row['run_s']:>7.0f}{row['run_cpu_s']:>7.0f}  "
            + "/".join(f"{value:.1f}" for value in row["load_average_at_end"])
        )
    results["goals"] = {"recall@1_points": GOAL_POINTS, "run_s": GOAL_RUN_S, "run_cpu_s": 2 * GOAL_RUN_S}
    results["met"] = {
        "recall@1_points": all(row["recall@1_points"] >= GOAL_POINTS for row in rows),
        "run_s": all(row["run_s"] <= GOAL_RUN_S for row in rows),
        "run_cpu_s": all(row["run_cpu_s"] <= 2 * GOAL_RUN_S for row in rows),  # fits 15 minutes of 2 free cores
    }
    print(
        f"goals (recall@1 +{GOAL_POINTS:.0f} points; a run under 15 minutes, in wall time and in CPU time of 2 cores): {results['met']}"
    )
    bars = {
        f"{name} {label}": {"packaged": row[f"{key}_before"]["recall@1"], "fine-tuned": row[f"{key}_after"]["recall@1"]}
        for name, row in zip(names, rows)
        for label, key in ((args.split, args.split), ("held-out", "heldout"))
        if row[f"{key}_before"]
    }
    save_results(
        output,
        results,
        bars,
        "recall@1",
        f"Bi-encoder before and after qa finetune ({args.alternates} alternates per intent, {args.split})",
    )


if __name__ == "__main__":
    main()
