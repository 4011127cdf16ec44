"""Per-stage latency of one turn (p50/p95 over 200 questions) on a knowledge base of 1,000+ entries.

The knowledge base: BANKING77 training utterances, each its own FAQ entry (question = utterance,
answer = its category). The questions: BANKING77 test utterances. The baseline, measured in the same
run: a bare `model.encode` of each question, so the embed stage's overhead is a ratio.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import yaml
from common import SHARED_DATASETS, percentiles, save_results

from qa.config import load_settings
from qa.pipeline import ChatPipeline
from qa.training.intent_datasets import humanise, load_intent_dataset


def build(folder: Path, n_entries: int, n_questions: int) -> tuple[Path, list[str]]:
    """A YAML FAQ of `n_entries` utterances and `n_questions` test questions."""
    rng = random.Random(7)
    train = load_intent_dataset("banking77", SHARED_DATASETS, split="val")
    utterances = [(text, e.id) for e in train.entries for text in e.alternate_questions]
    chosen = rng.sample(utterances, n_entries)
    entries = [{"id": f"u{i}", "question": text, "answer": f"About {humanise(intent)}."} for i, (text, intent) in enumerate(chosen)]
    faq = folder / "banking_faq.yaml"
    faq.write_text(yaml.safe_dump({"entries": entries}, sort_keys=False))
    test = load_intent_dataset("banking77", SHARED_DATASETS, split="test")
    return faq, [query.text for query in rng.sample(list(test.queries), n_questions)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1200)
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        faq, questions = build(Path(tmp), args.entries, args.questions)
        settings = load_settings().replace(data_dir=Path(tmp) / "data", knowledge_base=None)
        pipeline = ChatPipeline(settings)
        pipeline.indexer.ingest([str(faq)])
        pipeline.check_ready()
        for question in questions[:10]:  # warm up
            pipeline.ask(question)
        model = pipeline.embedder.model
        bare = []
        for question in questions:
            start = time.perf_counter()
            model.encode([question], normalize_embeddings=True)
            bare.append((time.perf_counter() - start) * 1000)
        stages: dict[str, list[float]] = {}
        for question in questions:
            for stage, ms in pipeline.ask(question).timings_ms.items():
                stages.setdefault(stage, []).append(ms)

    table = {stage: percentiles(values) for stage, values in stages.items()}
    table["bare encode (baseline)"] = percentiles(bare)
    results = {
        "entries": args.entries,
        "questions": len(questions),
        "reranker": settings.reranker.enabled,
        "stages_ms": table,
        "embed_over_bare_encode_p50": round(table["embed"]["p50"] / table["bare encode (baseline)"]["p50"], 3),
    }
    print(f"{args.entries} entries, {len(questions)} questions, re-ranker {'on' if settings.reranker.enabled else 'off'}")
    print(f"{'stage':<24}{'p50 ms':>10}{'p95 ms':>10}")
    for stage, values in table.items():
        print(f"{stage:<24}{values['p50']:>10.2f}{values['p95']:>10.2f}")
    print(f"embed stage / bare encode (p50): {results['embed_over_bare_encode_p50']}")
    save_results("latency", results, {stage: {"p50": v["p50"], "p95": v["p95"]} for stage, v in table.items()}, "ms", "Turn latency per stage")


if __name__ == "__main__":
    main()
