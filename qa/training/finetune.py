"""`qa finetune`: adapt the bi-encoder to the knowledge base, measure it, switch to it, re-index.

1. The FAQ entries are read from the index; a seeded share of their alternate questions is held
   out, and the rest of the knowledge base is measured on them (`qa eval`'s runner and figures).
2. Training pairs come from the knowledge base itself (`qa.training.finetune_data`) and from the
   questions the team linked to entries (`qa feedback link`); the model is trained from the
   config's `embedder.model` with in-batch and hard negatives (`qa.training.bi_encoder`).
3. The model is saved under `<data_dir>/models/finetuned-<time>/` and measured again on the same
   held-out alternates.
4. The index is rebuilt with the new model (a new generation, switched in one step), then
   `<data_dir>/active_embedder.json` makes the data folder use it (`qa.active_embedder`).

With `reranker=True` the config's re-ranker is trained further on the same knowledge base
(`qa.training.finetune_reranker`), saved in the model's folder, measured with it, and made active
with it (they go together: it learnt from that bi-encoder's candidates).
"""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.active_embedder import (
    ActiveEmbedder,
    clear_active_embedder,
    configured_models,
    read_active_embedder,
    write_active_embedder,
)
from qa.config import Settings
from qa.embedder import Embedder
from qa.evaluation.evaluate import evaluate_on
from qa.evaluation.queries import EvalQuery
from qa.evaluation.report import format_report
from qa.evaluation.runner import temporary_knowledge_base
from qa.ingest.indexer import IngestReport
from qa.pipeline import ChatPipeline
from qa.progress import Progress, no_progress
from qa.records import RECORDS_FILE, Link, Records
from qa.store import KnowledgeStore
from qa.training.finetune_data import hold_out_alternates
from qa.types import Entry

if TYPE_CHECKING:
    from qa.training.bi_encoder import TrainingOptions

MODELS_FOLDER = "models"
RESULT_FILE = "finetune.json"
Say = Callable[[str], None]


class FinetuneError(ValueError):
    """Fine-tuning cannot run as asked; the message says why and what to do."""


@dataclass(frozen=True)
class FinetuneResult:
    """What one fine-tuning run did and measured."""

    model_dir: Path
    base_model: str
    entries: int
    pairs: int
    linked_questions: int
    held_out: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    train_seconds: float
    total_seconds: float
    reindexed: IngestReport | None
    reranker_dir: Path | None = None

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["model_dir"] = str(self.model_dir)
        data["reranker_dir"] = str(self.reranker_dir) if self.reranker_dir else None
        data["reindexed"] = self.reindexed.summary() if self.reindexed else None
        return data


def knowledge_base_entries(store: KnowledgeStore) -> list[Entry]:
    """The FAQ entries of the index (document passages left out), alternates in a stable order."""
    found: dict[str, dict[str, Any]] = {}
    for record in store.records(where={"kind": {"$in": ["question", "alternate"]}}):
        meta = record.metadata
        entry = found.setdefault(meta.get("entry_id", record.id), {"meta": meta, "alternates": []})
        if meta.get("kind") == "alternate":
            entry["alternates"].append(record.document)
    return [
        Entry(
            entry_id,
            item["meta"].get("question", ""),
            item["meta"].get("answer", ""),
            item["meta"].get("source", ""),
            alternate_questions=tuple(sorted(item["alternates"])),
            category=item["meta"].get("category"),
        )
        for entry_id, item in sorted(found.items())
    ]


def linked_questions(settings: Settings) -> list[Link]:
    """The questions the team linked to entries, from the data folder's records (none when there are none)."""
    if not (settings.data_dir / RECORDS_FILE).exists():
        return []
    return Records.in_folder(settings.data_dir).links()


def measure(
    settings: Settings, entries: Sequence[Entry], queries: Sequence[EvalQuery], embedder: Embedder, progress: Progress
) -> dict[str, Any]:
    """`qa eval`'s figures of `queries` against `entries`, embedded by `embedder`, in a temporary index."""
    with temporary_knowledge_base(settings, entries=entries, embedder=embedder, progress=progress) as kb:
        report, _ = evaluate_on(kb, queries, progress=progress)
    return report


def comparison(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The change of the ranking figures, one line per ranking (bi-encoder, re-ranked)."""
    lines = []
    for label, key in (("bi-encoder", "retrieval"), ("re-ranked", "reranked")):
        if before.get(key) and after.get(key) and (key == "retrieval" or after.get("reranker")):
            changes = ", ".join(
                f"{name} {before[key][name]:.3f} → {after[key][name]:.3f} ({100 * (after[key][name] - before[key][name]):+.1f})"
                for name in ("recall@1", "recall@5", "mrr@10")
            )
            lines.append(f"{label}: {changes}")
    return "\n".join(lines)


def new_model_dir(data_dir: Path) -> Path:
    """A fresh `<data_dir>/models/finetuned-<time>` folder name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = data_dir / MODELS_FOLDER / f"finetuned-{stamp}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = data_dir / MODELS_FOLDER / f"finetuned-{stamp}-{suffix}"
    return folder


def finetune(
    settings: Settings,
    options: TrainingOptions | None = None,
    holdout: float = 0.2,
    feedback: bool = True,
    reindex: bool = True,
    reranker: bool = False,
    progress: Progress = no_progress,
    say: Say = print,
) -> FinetuneResult:
    """Fine-tune the bi-encoder on the knowledge base in `settings.data_dir`; see the module's docstring.

    `options`: how to train (None: the defaults, sized for a CPU); `holdout`: the share of alternate
    questions measured before and after; `feedback`: learn from the linked questions too; `reindex`:
    rebuild the index with the new model and make the data folder use it; `reranker`: train the
    config's re-ranker on the knowledge base too (saved in `<model_dir>/reranker`).
    """
    from qa.models import resolve_model
    from qa.training.bi_encoder import TrainingOptions
    from qa.training.finetune_reranker import train_reranker_on_entries

    if not 0 <= holdout < 1:
        raise FinetuneError(f"the held-out share must be at least 0 and below 1, not {holdout}")
    if reranker and not settings.reranker.enabled:
        raise FinetuneError("training the re-ranker needs it on in the config (reranker.enabled: true)")
    options = options or TrainingOptions()
    started = time.perf_counter()
    pipeline = ChatPipeline(settings)
    pipeline.check_ready()
    entries = knowledge_base_entries(pipeline.store)
    if len(entries) < 2:
        raise FinetuneError(
            "fine-tuning needs at least 2 FAQ entries in the knowledge base; load them with `qa ingest`"
        )
    links = linked_questions(settings) if feedback else []
    train_entries, queries = hold_out_alternates(entries, holdout, options.seed)
    base, base_reranker = configured_models(settings)  # a run starts from these, not from earlier fine-tuned ones
    say(
        f"{len(entries)} FAQ entries, {len(queries)} alternate questions held out for the evaluation, "
        f"{len(links)} linked question(s) from the feedback; training from {base}"
    )
    before = None
    if queries:
        before = measure(settings, train_entries, queries, pipeline.embedder, progress)
        say(f"before ({pipeline.embedder.model_id}):\n{format_report(before)}")
    else:
        say("no entry has two alternate questions: nothing to hold out, no before/after figures")

    model_dir = new_model_dir(settings.data_dir)
    pairs, train_s = train_and_save(resolve_model(base), train_entries, links, options, model_dir)
    share = options.tuned_share
    mix = f" (weights: {share:g} trained, {1 - share:g} {base})" if share < 1 else ""
    say(f"trained on {pairs} pairs in {train_s:.0f} s{mix}; saved to {model_dir}")

    new_settings = settings.replace(embedder=dataclasses.replace(settings.embedder, model=str(model_dir)))
    new_embedder = Embedder(new_settings.embedder)
    reranker_dir = None
    if reranker:
        reranker_dir = model_dir / "reranker"
        reranker_pairs, reranker_s = train_reranker_on_entries(
            resolve_model(base_reranker), train_entries, links, new_embedder.run, reranker_dir,
            settings.reranker.max_length, options.seed,
        )  # fmt: skip
        say(f"re-ranker trained from {base_reranker} on {reranker_pairs} pairs in {reranker_s:.0f} s")
    new_reranker = str(reranker_dir) if reranker_dir else base_reranker
    measured = settings.replace(reranker=dataclasses.replace(settings.reranker, model=new_reranker))
    after = None
    if queries:
        after = measure(measured, train_entries, queries, new_embedder, progress)
        say(f"after ({model_dir.name}):\n{format_report(after)}")
        say(comparison(before or {}, after))
    reindexed = None
    if reindex:
        reindexed = ChatPipeline(new_settings, embedder=new_embedder).indexer.rebuild(progress)
        folder = settings.data_dir
        tuned_reranker = (str(reranker_dir.relative_to(folder)), base_reranker) if reranker_dir else (None, None)
        write_active_embedder(folder, ActiveEmbedder(str(model_dir.relative_to(folder)), base, *tuned_reranker))
        say(f"re-indexed with the new model: {reindexed.summary()}")
    result = FinetuneResult(
        model_dir, base, len(entries), pairs, len(links), len(queries), before, after, round(train_s, 1),
        round(time.perf_counter() - started, 1), reindexed, reranker_dir,
    )  # fmt: skip
    (model_dir / RESULT_FILE).write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return result


def train_and_save(
    base_path: str, entries: Sequence[Entry], links: Sequence[Link], options: TrainingOptions, model_dir: Path
) -> tuple[int, float]:
    """Train a fresh copy of the model at `base_path` and save it to `model_dir`; returns (pairs, seconds)."""
    from sentence_transformers import SentenceTransformer

    from qa.training.bi_encoder import train_bi_encoder
    from qa.training.finetune_data import NegativeMiner, positive_pairs

    started = time.perf_counter()
    model = SentenceTransformer(base_path, device="cpu", trust_remote_code=False)
    max_seq_length = model.max_seq_length
    rng = random.Random(options.seed)
    pairs = positive_pairs(entries, links, options.rounds, rng, options.max_pairs)
    if options.hard_negatives:

        def embed(texts: Sequence[str]) -> Any:
            return model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

        pairs = NegativeMiner(entries, embed).with_negatives(pairs, rng)
    with tempfile.TemporaryDirectory(prefix="qa-finetune-") as work_dir:
        train_bi_encoder(model, pairs, options, Path(work_dir))
    model.max_seq_length = max_seq_length  # the index reads as much as before; training needed less
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(model_dir))
    return len(pairs), time.perf_counter() - started


def revert(settings: Settings, progress: Progress = no_progress) -> tuple[ActiveEmbedder | None, IngestReport | None]:
    """Go back to the config's models: forget the fine-tuned ones and re-index (when one was active)."""
    active = read_active_embedder(settings.data_dir)
    if active is None:
        return None, None
    base_settings = settings.replace(embedder=dataclasses.replace(settings.embedder, model=active.base))
    report = ChatPipeline(base_settings).indexer.rebuild(progress)
    clear_active_embedder(settings.data_dir)
    return active, report
