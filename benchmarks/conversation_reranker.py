"""Follow-up questions with a re-ranker fine-tuned for conversations, each conversation set held out
in turn (a measurement: the shipped re-ranker is not changed).

A follow-up's re-ranker reads the previous answer's question, then the message
(`conversation.context_text`); the shipped cross-encoder never saw such texts. Two ways to teach it,
each from the shipped weights (its calibration kept, so its threshold keeps its meaning), two
epochs of binary cross-entropy at learning rate 3e-5:

- synthetic: follow-ups made from the FAQ itself. For two entries whose questions share a topic
  word (a word of at most an eighth of the entries' questions), the second's question (or
  alternate) with the shared words replaced by "it", after the first's question: "What does the
  Plus plan include? how much does it cost?" → the second entry. One model for every set.
- conversations: the labelled turns of the other conversation sets (a follow-up after the
  question of the entry that answers the turn before it). One model per held-out set.

Each held-out set is asked through the default pipeline (context on) with the shipped re-ranker
(the baseline of the run) and with both models; top-1 of follow-up and standalone turns.
Baseline and targets of the issue: follow-ups ≥ 0.80, standalone turns as without context.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import ROOT, save_results
from dialogue import (
    CONVERSATIONS,
    DATA,
    FOLLOWUP_KINDS,
    STANDALONE_KINDS,
    CachedEmbedder,
    knowledge_base,
    run_all,
    top1,
    top1_of_kinds,
    variant,
)

from qa.config import Settings, load_settings
from qa.embedder import Embedder
from qa.evaluation.queries import read_queries
from qa.ingest.sources import discover, load_knowledge
from qa.models import resolve_model
from qa.reranking_model import CALIBRATION_FILE, pair_texts
from qa.text import words
from qa.training.intent_datasets import Query
from qa.training.reranker import CandidateMiner, bi_encoder_embed, export_model, train_cross_encoder
from qa.types import Entry

SETS = (*CONVERSATIONS, DATA / "conversations_dev.jsonl")
STOPWORDS = frozenset(
    """a an the of to in on for and or is are do does did i my me we our us you your can could how what
    when where why which who with it its it's that this these those they them their one be been was were
    will would should there here at by from as if so about any some much many get have has had not no
    please just also then but into out up i'm i've don't can't""".split()
)
ARTICLES = frozenset({"the", "my", "a", "an", "your", "our"})
LEADS = ("", "", "and ", "ok, ", "so ")  # how a synthetic follow-up opens
LearningItem = tuple[str, frozenset[str]]  # a query text and the entries that answer it


def faq_entries() -> list[Entry]:
    files, _ = discover([ROOT / "knowledge_base"])
    return list(load_knowledge(files).entries)


def synthetic_items(entries: Sequence[Entry], rng: random.Random, limit: int) -> list[LearningItem]:
    """Follow-ups made from pairs of entries that share a topic word (module docstring)."""
    counts = Counter(word for e in entries for word in set(words(" ".join((e.question, *e.alternate_questions)))))
    rare = max(3, len(entries) // 8)

    def topic(text: str) -> set[str]:
        return {word for word in words(text) if word not in STOPWORDS and counts[word] <= rare}

    items = []
    for first in entries:
        first_topic = topic(first.question)
        for second in entries:
            for text in (second.question, *second.alternate_questions) if second.id != first.id else ():
                message = _with_it(text, first_topic & topic(text), rng)
                if message and len(words(message)) >= 2:
                    items.append((f"{first.question} {message}", frozenset({second.id})))
    return rng.sample(items, min(limit, len(items)))


def _with_it(text: str, shared: set[str], rng: random.Random) -> str | None:
    """`text` with its first shared word (and the article before it) replaced by "it", the others left out."""
    if not shared:
        return None
    kept: list[str] = []
    replaced = False
    for token in re.findall(r"[\w']+|[^\w\s]", text):
        if token.lower() not in shared:
            kept.append(token)
        elif not replaced:
            while kept and kept[-1].lower() in ARTICLES:
                kept.pop()
            kept.append("it")
            replaced = True
    message = re.sub(r" ([?,.!])", r"\1", " ".join(kept))
    return rng.choice(LEADS) + message[0].lower() + message[1:]


def conversation_items(paths: Sequence[Path], questions: dict[str, str]) -> list[LearningItem]:
    """The labelled turns of `paths`: a follow-up after the question of the previous turn's entry."""
    items = []
    for path in paths:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        previous: dict[tuple[str, int], dict[str, Any]] = {(row["conversation"], row["turn"]): row for row in rows}
        for row in rows:
            expected = frozenset(entry_id for entry_id in _ids(row["expected"]) if entry_id in questions)
            if not expected:
                continue
            text = row["query"]
            before = previous.get((row["conversation"], row["turn"] - 1))
            if row["kind"] in FOLLOWUP_KINDS and before:
                first = [entry_id for entry_id in _ids(before["expected"]) if entry_id in questions]
                text = f"{questions[first[0]] if first else before['query']} {text}"
            items.append((text, expected))
    return items


def _ids(expected: str | list[str] | None) -> list[str]:
    """The expected entry ids of a line, in its order."""
    return list(expected) if isinstance(expected, list) else [expected] if expected else []


def train_on(
    items: Sequence[LearningItem], miner: CandidateMiner, base: str, output_dir: Path, rng: random.Random
) -> int:
    """Fine-tune the re-ranker at `base` on the items (the right entries, the 2 closest wrong hits and
    1 drawn from the rest), save it with its calibration; returns the number of pairs."""
    pairs = []
    mined = miner.mine([Query(text, min(expected)) for text, expected in items])
    for (text, expected), candidates in zip(items, mined):
        right = [hit for hit in candidates.hits if hit.entry_id in expected]
        wrong = [hit for hit in candidates.hits if hit.entry_id not in expected]
        chosen = wrong[:2] + rng.sample(wrong[2:], min(1, len(wrong[2:])))
        for hit, label in [(hit, 1.0) for hit in right] + [(hit, 0.0) for hit in chosen]:
            pairs += [(text, candidate, label) for candidate in pair_texts(text, hit)]
    with tempfile.TemporaryDirectory(prefix="qa-conversation-reranker-") as work_dir:
        model = train_cross_encoder(pairs, base, Path(work_dir), epochs=2, learning_rate=3e-5, seed=13)
    export_model(model, output_dir)
    shutil.copyfile(Path(base) / CALIBRATION_FILE, output_dir / CALIBRATION_FILE)
    return len(pairs)


def with_reranker(settings: Settings, model: Path | None) -> Settings:
    return settings if model is None else variant(settings, "reranker", model=str(model))


def turn_figures(settings: Settings, kb: Any, path: Path, label: str) -> dict[str, float]:
    """Top-1 of the follow-up and standalone turns of `path`, asked with context."""
    queries = read_queries(path)
    replies = run_all(variant(settings, "conversation", context=True), kb, queries, f"{path.stem}, {label}")
    correct = [top1(query, reply) for query, reply in zip(queries, replies)]
    return {
        "followup_top1": top1_of_kinds(queries, correct, FOLLOWUP_KINDS),
        "standalone_top1": top1_of_kinds(queries, correct, STANDALONE_KINDS),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--synthetic-limit", type=int, default=3000, help="synthetic follow-ups at most (seeded sample)"
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    base = resolve_model(settings.reranker.model)
    entries = faq_entries()
    questions = {entry.id: entry.question for entry in entries}
    miner = CandidateMiner(entries, bi_encoder_embed())
    results: dict[str, Any] = {"sets": {}}
    with tempfile.TemporaryDirectory(prefix="qa-conversation-rerankers-") as models:
        synthetic = Path(models) / "synthetic"
        items = synthetic_items(entries, random.Random(13), args.synthetic_limit)
        results["synthetic"] = {
            "items": len(items),
            "pairs": train_on(items, miner, base, synthetic, random.Random(13)),
        }
        embedder = CachedEmbedder(Embedder(settings.embedder))
        with knowledge_base(settings, embedder, paths=[str(ROOT / "knowledge_base")]) as kb:
            for held_out in SETS:
                trained = Path(models) / held_out.stem
                items = conversation_items([path for path in SETS if path != held_out], questions)
                pairs = train_on(items, miner, base, trained, random.Random(13))
                figures = {
                    label: turn_figures(with_reranker(kb.settings, model), kb, held_out, label)
                    for label, model in (("shipped", None), ("synthetic", synthetic), ("conversations", trained))
                }
                results["sets"][held_out.name] = {"conversation_items": len(items), "pairs": pairs, **figures}
                print(held_out.name, json.dumps(figures), flush=True)
    report(results)


def report(results: dict[str, Any]) -> None:
    labels = ("shipped", "synthetic", "conversations")
    print(f"\n{'held-out set':32}" + "".join(f"{label + ' (follow-up / standalone)':>39}" for label in labels))
    for name, row in results["sets"].items():
        print(
            f"{name:32}"
            + "".join(f"{row[label]['followup_top1']:>31.3f} / {row[label]['standalone_top1']:.3f}" for label in labels)
        )
    means = {
        label: {
            key: round(sum(row[label][key] for row in results["sets"].values()) / len(results["sets"]), 4)
            for key in ("followup_top1", "standalone_top1")
        }
        for label in labels
    }
    results["mean"] = means
    print(
        f"{'mean':32}"
        + "".join(f"{means[label]['followup_top1']:>31.3f} / {means[label]['standalone_top1']:.3f}" for label in labels)
    )
    bars = {
        name.removesuffix(".jsonl"): {label: row[label]["followup_top1"] for label in labels}
        for name, row in results["sets"].items()
    }
    save_results(
        "conversation_reranker",
        results,
        bars,
        "follow-up top-1",
        "Follow-ups: shipped vs conversation-tuned re-rankers",
    )


if __name__ == "__main__":
    main()
