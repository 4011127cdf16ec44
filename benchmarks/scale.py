"""A knowledge base of 100,000 chunks against a 10,000-chunk baseline in the same run: ingest time,
the time to change one entry, query p50/p95, recall, memory and disk.

The store part uses precomputed random unit vectors (384 dimensions, one per text, seeded by the
text) in place of the bi-encoder, so that 100,000 chunks load in minutes on a CPU: everything else is
the real path (loaders' entries, the chunker with the real tokenizer, the indexer, the generational
Chroma store, the retriever). Random vectors have no clusters, the hard case for an HNSW index.
The bi-encoder is measured separately on a real subset (its texts per second), and the embedding
time of the full knowledge base is projected from it.

The entries: questions from BANKING77 and CLINC150 (../shared/datasets) when present, else
synthetic ones, each with a templated paraphrase as alternate question; 3 vectors per entry
(question, alternate, question + answer).

Each size runs in a fresh process (clean memory figures). Prints the figures and writes
results/scale.json and results/scale.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import SHARED_DATASETS, percentiles, save_results

from qa.config import load_settings
from qa.embedder import Embedder
from qa.ingest.chunking import Chunker
from qa.ingest.indexer import Indexer
from qa.ingest.sources import LoadedKnowledge
from qa.retriever import Retriever
from qa.store import KnowledgeStore
from qa.types import Entry

SIZES = (10_000, 100_000)
VECTORS_PER_ENTRY = 3
SOURCE = "scale/faq.yaml"
PARAPHRASES = ("Could you tell me: {q}", "{q} Please help.", "Question about this: {q}", "I need to know, {q}")


class SeededVectors:
    """Stands in for the bi-encoder: a random unit vector per text, the same for the same text."""

    def __init__(self, real: Embedder) -> None:
        self.real = real
        self.model_id = real.model_id
        self.dimension = 384

    @property
    def tokenizer(self):
        return self.real.tokenizer

    @property
    def max_tokens(self) -> int:
        return self.real.max_tokens

    def run(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return np.stack([vector_of(text) for text in texts]) if texts else np.zeros((0, self.dimension), np.float32)


def vector_of(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
    vector = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return vector / np.linalg.norm(vector)


def questions() -> list[str]:
    """Real customer questions when the shared data sets are there, else synthetic ones."""
    found: list[str] = []
    banking = SHARED_DATASETS / "banking77" / "train.csv"
    clinc = SHARED_DATASETS / "clinc150" / "data_full.json"
    if banking.exists():
        import csv

        found += [row["text"] for row in csv.DictReader(banking.open(encoding="utf-8"))]
    if clinc.exists():
        data = json.loads(clinc.read_text(encoding="utf-8"))
        found += [text for split in ("train", "val", "test") for text, _ in data[split]]
    return list(dict.fromkeys(found)) or [f"How do I use feature {n} of the product?" for n in range(5000)]


def entries(count: int) -> list[Entry]:
    """`count` FAQ entries (3 vectors each); questions repeat with a number once the data runs out."""
    pool = questions()
    rng = random.Random(count)
    made = []
    for n in range(count):
        question = pool[n % len(pool)] + ("" if n < len(pool) else f" (case {n // len(pool)})")
        alternate = rng.choice(PARAPHRASES).format(q=question)
        answer = f"Answer {n}: see the help centre, section {n % 97}, for the steps."
        made.append(Entry(f"e{n}", question, answer, SOURCE, alternate_questions=(alternate,)))
    return made


def measure(chunks: int, queries: int) -> dict:
    """One size, in this process: ingest, query, change one entry, memory, disk."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings().replace(data_dir=Path(tmp) / "data", knowledge_base=None)
        embedder = SeededVectors(Embedder(settings.embedder))
        store = KnowledgeStore(settings)
        indexer = Indexer(store, embedder, Chunker(settings.chunking, embedder.tokenizer, embedder.max_tokens))
        faq = entries(chunks // VECTORS_PER_ENTRY)
        knowledge = LoadedKnowledge(tuple(faq), (), (SOURCE,))

        started = time.perf_counter()
        report = indexer.ingest_knowledge(knowledge)
        ingest_s = time.perf_counter() - started

        retriever = Retriever(store, settings.retrieval)
        rng = np.random.default_rng(0)
        asked = rng.choice(len(faq), size=queries, replace=False)
        latencies, hits_at_1 = [], 0
        for index in asked:
            noisy = vector_of(faq[index].question) + rng.normal(0, 0.02, 384).astype(np.float32)
            started = time.perf_counter()
            hits = retriever.run(noisy / np.linalg.norm(noisy))
            latencies.append((time.perf_counter() - started) * 1000)
            hits_at_1 += bool(hits) and hits[0].entry_id == faq[index].id
        changed = list(faq)
        changed[0] = dataclasses.replace(faq[0], answer="A new answer.")
        started = time.perf_counter()
        update = indexer.ingest_knowledge(LoadedKnowledge(tuple(changed), (), (SOURCE,)))
        update_s = time.perf_counter() - started
        disk_mb = sum(path.stat().st_size for path in store.chroma_path.rglob("*") if path.is_file()) / 2**20
        return {
            "chunks": report.total,
            "entries": len(faq),
            "ingest_s": round(ingest_s, 1),
            "ingest_chunks_per_s": round(report.total / ingest_s),
            "query_ms": percentiles(latencies),
            "recall_at_1": round(hits_at_1 / queries, 4),
            "change_one_entry_s": round(update_s, 1),
            "change_one_entry_embedded": update.added,
            "rss_mb": round(peak_rss_mb(), 1),
            "disk_mb": round(disk_mb, 1),
        }


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def embedding_rate(texts: int) -> dict:
    """The real bi-encoder on real questions: texts per second (to project a full knowledge base)."""
    embedder = Embedder(load_settings().embedder)
    sample = [entry.question for entry in entries(texts)]
    embedder.run(sample[:32])  # warm-up
    started = time.perf_counter()
    embedder.run(sample)
    seconds = time.perf_counter() - started
    return {"texts": texts, "seconds": round(seconds, 1), "texts_per_s": round(texts / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="chunks; the first is the baseline")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--embed-sample", type=int, default=2000, help="real texts embedded to measure the bi-encoder")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # one size, in a fresh process
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.queries)))
        return

    runs = {}
    for size in args.sizes:
        print(f"measuring {size:,} chunks in a fresh process ...", flush=True)
        worker = [sys.executable, __file__, "--worker", str(size), "--queries", str(args.queries)]
        runs[size] = json.loads(subprocess.run(worker, check=True, capture_output=True, text=True).stdout)
        print(json.dumps(runs[size]), flush=True)
    rate = embedding_rate(args.embed_sample)
    base, top = runs[args.sizes[0]], runs[args.sizes[-1]]
    results = {
        "vectors": "precomputed random unit vectors (384-d) for the store; bi-encoder measured on a real subset",
        "questions_from": "BANKING77 + CLINC150" if (SHARED_DATASETS / "banking77").exists() else "synthetic",
        "runs": {str(size): run for size, run in runs.items()},
        "ratio_to_baseline": {
            key: round(top[key] / base[key], 2) for key in ("ingest_s", "change_one_entry_s", "rss_mb", "disk_mb")
        }
        | {"query_p50": round(top["query_ms"]["p50"] / base["query_ms"]["p50"], 2)},
        "bi_encoder": rate,
        "projected_embedding_s": {str(size): round(runs[size]["chunks"] / rate["texts_per_s"]) for size in runs},
    }
    print(json.dumps(results, indent=2))
    label = {size: f"{size:,} chunks" for size in runs}
    bars = {
        "ingest (s)": {label[s]: runs[s]["ingest_s"] for s in runs},
        "change one entry (s)": {label[s]: runs[s]["change_one_entry_s"] for s in runs},
        "query p50 (ms)": {label[s]: runs[s]["query_ms"]["p50"] for s in runs},
        "query p95 (ms)": {label[s]: runs[s]["query_ms"]["p95"] for s in runs},
        "memory (100 MB)": {label[s]: runs[s]["rss_mb"] / 100 for s in runs},
    }
    title = f"Knowledge base of {args.sizes[-1]:,} vs {args.sizes[0]:,} chunks (random vectors)"
    save_results("scale", results, bars, "s, ms or 100 MB (see each group)", title)


if __name__ == "__main__":
    main()
