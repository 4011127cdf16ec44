"""Cross-data-set re-ranking: a re-ranker trained on one intent data set, measured on the other.

Each `--model NAME=FOLDER` is a re-ranker trained on data set NAME only (`qa train-reranker
--datasets NAME --output FOLDER`). Its calibration is refitted on NAME's val split (so nothing of
the other data set is seen), then the bi-encoder alone and the re-ranked candidates are compared on
a seeded sample of the other data set's test split, in the same run (candidates mined as the
retriever finds them, `qa.training.reranker`). The ratio compares MRR@10 with the bi-encoder's.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from common import SHARED_DATASETS, save_results

from qa.training.intent_datasets import DATASETS
from qa.training.reranker import MRR_AT, bi_encoder_embed, compare, fit_calibration, hit_logits, mine_split


def transfer(model_dir: Path, source: str, target: str, args: argparse.Namespace, miners: dict) -> dict:
    """Calibrate on `source`'s val split, compare on `target`'s test split (`miners`: shared knowledge bases)."""
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(model_dir), device="cpu", trust_remote_code=False)
    data_dir, val_queries, test_queries, embed = args.data_dir, args.val_queries, args.test_queries, args.embed
    val = {source: mine_split(source, "val", data_dir, miners, embed, val_queries, random.Random(13))}
    calibration = fit_calibration(val, {source: hit_logits(model, val[source])})
    test = {target: mine_split(target, "test", data_dir, miners, embed, test_queries, random.Random(13))}
    figures = compare(test, {target: hit_logits(model, test[target])}, calibration)[target]
    mrr = f"mrr@{MRR_AT}"
    return {
        "model": str(model_dir),
        "trained_on": source,
        "evaluated_on": target,
        **figures,
        "mrr_ratio_reranked_vs_bi_encoder": round(figures["reranked"][mrr] / figures["bi_encoder"][mrr], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="NAME=FOLDER", help="trained on NAME only")
    parser.add_argument("--data-dir", type=Path, default=SHARED_DATASETS)
    parser.add_argument("--val-queries", type=int, default=400, help="in-scope val queries for the calibration")
    parser.add_argument(
        "--test-queries", type=int, default=500, help="in-scope test queries (and as many out of scope)"
    )
    args = parser.parse_args()
    args.embed = bi_encoder_embed()
    results, bars, miners = {}, {}, {}
    for spec in args.model:
        source, folder = spec.split("=", 1)
        target = next(name for name in DATASETS if name != source)
        result = transfer(Path(folder), source, target, args, miners)
        results[f"{source}_to_{target}"] = result
        print(f"{source} -> {target}: " + ", ".join(f"{k} {result[k]}" for k in ("bi_encoder", "reranked")))
        bars[f"{source} -> {target}\nMRR@{MRR_AT}"] = {
            "bi-encoder": result["bi_encoder"][f"mrr@{MRR_AT}"],
            "re-ranked": result["reranked"][f"mrr@{MRR_AT}"],
        }
    save_results("reranker_transfer", results, bars, "in-scope test queries", "Re-ranker trained on the other data set")


if __name__ == "__main__":
    main()
