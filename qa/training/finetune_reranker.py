"""`qa finetune --reranker`: adapt the cross-encoder re-ranker to the knowledge base as well.

The queries are the knowledge base's own questions and alternate questions, and the questions the
team linked to entries, each with its entry. Their candidates are mined as the retriever would hand
them over (`qa.training.reranker.CandidateMiner`, with the bi-encoder the index will use), the
query's own vector left out; the pairs are the right entry's and 3 wrong hits' (the 2 ranked
highest, 1 drawn from the rest).
Training continues from the config's re-ranker with binary cross-entropy at a small learning rate,
and the new model keeps that re-ranker's calibration (`calibration.json`), so the configured
threshold keeps its meaning; `qa finetune` measures it on the held-out alternates.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from qa.records import Link
from qa.reranking_model import CALIBRATION_FILE
from qa.training.intent_datasets import Query
from qa.training.reranker import CandidateMiner, Embed, export_model, train_cross_encoder, training_pairs
from qa.types import Entry

NEGATIVES = 3  # wrong hits per query
LEARNING_RATE = 2e-5  # small steps: the model is already trained


def entry_queries(entries: Sequence[Entry], links: Sequence[Link]) -> list[Query]:
    """Each question and alternate question of the entries, and each linked question, with its entry."""
    known = {entry.id for entry in entries}
    queries = [Query(text, entry.id) for entry in entries for text in (entry.question, *entry.alternate_questions)]
    return queries + [Query(link.question, link.entry_id) for link in links if link.entry_id in known]


def train_reranker_on_entries(
    base_dir: str,
    entries: Sequence[Entry],
    links: Sequence[Link],
    embed: Embed,
    output_dir: Path,
    max_length: int,
    seed: int,
) -> tuple[int, float]:
    """Train the re-ranker at `base_dir` one epoch further on the entries (texts cut to `max_length`
    tokens), save it with its calibration to `output_dir`; returns (pairs, seconds)."""
    started = time.perf_counter()
    candidates = CandidateMiner(entries, embed).mine(entry_queries(entries, links), leave_out_self=True)
    pairs = training_pairs(candidates, NEGATIVES, random.Random(seed))
    with tempfile.TemporaryDirectory(prefix="qa-finetune-reranker-") as work_dir:
        model = train_cross_encoder(
            pairs, base_dir, Path(work_dir), learning_rate=LEARNING_RATE, max_length=max_length, seed=seed
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    export_model(model, output_dir)
    shutil.copyfile(Path(base_dir) / CALIBRATION_FILE, output_dir / CALIBRATION_FILE)
    return len(pairs), time.perf_counter() - started
