"""How much of the trained weights `qa finetune` keeps (WiSE-FT): recall@1 at each share, on val.

One `qa finetune` run per data set, on the knowledge base of `benchmarks/finetune.py` (one entry per
intent, 10 alternates), with its default options except `tuned_share=1` (the trained weights as
they are). The trained weights are then interpolated with the packaged bi-encoder's at each share,
and the split's in-scope queries (val by default: tune on val, never on test) are ranked with each
mix. Share 0 is the packaged model itself, the baseline of the same run. The default share of
`qa finetune` is the one whose smaller gain over the data sets is the largest.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from common import SHARED_DATASETS, save_results
from finetune import NAMES, bench_settings, knowledge_base, rank_queries

from qa.embedder import Embedder
from qa.evaluation.datasets import dataset_evaluation
from qa.ingest.sources import LoadedKnowledge
from qa.models import resolve_model
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.training.bi_encoder import TrainingOptions, interpolate_weights
from qa.training.finetune import finetune

SHARES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def sweep(name: str, split: str, alternates: int) -> dict[str, Any]:
    """recall@1, recall@5 and MRR@10 of data set `name` at each share of the trained weights."""
    from sentence_transformers import SentenceTransformer

    all_entries, queries = dataset_evaluation(name, SHARED_DATASETS, split)
    queries = [query for query in queries if query.in_scope]
    entries = knowledge_base(all_entries, alternates)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="qa-bench-shares-") as folder:
        settings = bench_settings(Path(folder) / "data")
        ChatPipeline(settings).indexer.ingest_knowledge(LoadedKnowledge(tuple(entries), (), (name,)))
        with tqdm_progress() as progress:
            result = finetune(settings, TrainingOptions(tuned_share=1.0), reindex=False, progress=progress)
        start = SentenceTransformer(resolve_model(settings.embedder.model), device="cpu").state_dict()
        for share in SHARES:
            model = SentenceTransformer(str(result.model_dir), device="cpu")
            interpolate_weights(model, start, share)
            mixed = Path(folder) / f"share-{share}"
            model.save(str(mixed))
            embedder = Embedder(dataclasses.replace(settings.embedder, model=str(mixed)))
            figures[str(share)] = rank_queries(settings, entries, queries, embedder)
            print(f"{name}: share {share:.1f}: {figures[str(share)]}")
    return {"queries": len(queries), "alternates_per_intent": alternates, "by_share": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(NAMES), choices=NAMES)
    parser.add_argument("--split", default="val", choices=["val", "test"])
    parser.add_argument(
        "--alternates", type=int, default=10, help="alternate questions per intent (default: %(default)s)"
    )
    args = parser.parse_args()
    if not SHARED_DATASETS.is_dir():
        raise SystemExit(f"no data sets at {SHARED_DATASETS}")
    results: dict[str, Any] = {name: sweep(name, args.split, args.alternates) for name in args.datasets}
    gains = {
        share: [
            100 * (results[name]["by_share"][share]["recall@1"] - results[name]["by_share"]["0.0"]["recall@1"])
            for name in args.datasets
        ]
        for share in map(str, SHARES)
    }
    print(f"\n{'share':>6}" + "".join(f"{name + ' points':>18}" for name in args.datasets))
    for share, points in gains.items():
        print(f"{share:>6}" + "".join(f"{value:>+18.1f}" for value in points))
    results["split"] = args.split
    results["best_share"] = float(
        max((share for share in gains if share != "0.0"), key=lambda share: min(gains[share]))
    )
    print(f"the share with the largest smallest gain: {results['best_share']}")
    bars = {
        name: {share: results[name]["by_share"][share]["recall@1"] for share in results[name]["by_share"]}
        for name in args.datasets
    }
    save_results(
        f"finetune_shares_{args.split}",
        results,
        bars,
        "recall@1",
        f"Fine-tuned bi-encoder, share of the trained weights ({args.alternates} alternates per intent, {args.split})",
    )


if __name__ == "__main__":
    main()
