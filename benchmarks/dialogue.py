"""Dialogue: follow-up questions with and without conversation context, small-talk routing, and
routing's effect on CLINC150, each against a baseline measured in the same run.

- Conversations (benchmarks/data/conversations_blind4.jsonl and the earlier sets, over
  knowledge_base/): every turn is asked after its history, replayed in a fresh conversation; top-1
  is the reply's first source.
  Baseline: the same turns with `conversation.context: false`. Targets: follow-ups ≥ 0.80 with
  context and ≥ 30 points above the baseline; first and switch turns lose at most 1 point.
- Small talk (benchmarks/data/smalltalk_blind15.jsonl and the earlier sets): the reply's intent,
  one-off, over the demo knowledge base, on the utterances that are not examples in the intents
  file (those are counted and left out). Target ≥ 0.95. Baseline: routing off.
- Demo queries (benchmarks/data/demo_queries.jsonl): FAQ questions must not be routed away:
  top-1 with routing on vs off.
- CLINC150 (when ../shared/datasets exists): in-scope accuracy and out-of-scope recall with
  routing on vs off; routing must not lower either.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from common import ROOT, SHARED_DATASETS, save_results

from qa.config import Settings, load_settings
from qa.embedder import Embedder
from qa.evaluation.datasets import dataset_evaluation
from qa.evaluation.queries import EvalQuery, read_queries
from qa.evaluation.runner import EvalKnowledgeBase, temporary_knowledge_base
from qa.intents import load_intents
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.types import Reply

DATA = ROOT / "benchmarks" / "data"
CONVERSATIONS = tuple(
    DATA / name
    for name in (
        "conversations_blind4.jsonl",
        "conversations_blind3.jsonl",
        "conversations_blind2.jsonl",
        "conversations_blind.jsonl",
        "conversations.jsonl",
    )
)
SMALLTALK = tuple(
    DATA / name
    for name in (
        "smalltalk_blind15.jsonl",
        "smalltalk_blind14.jsonl",
        "smalltalk_blind13.jsonl",
        "smalltalk_blind12.jsonl",
        "smalltalk_blind11.jsonl",
        "smalltalk_blind10.jsonl",
        "smalltalk_blind9.jsonl",
        "smalltalk_blind8.jsonl",
        "smalltalk_blind7.jsonl",
        "smalltalk_blind6.jsonl",
        "smalltalk_blind5.jsonl",
        "smalltalk_blind4.jsonl",
        "smalltalk_blind3.jsonl",
    )
)
DEMO_QUERIES = DATA / "demo_queries.jsonl"
FOLLOWUP_KINDS, STANDALONE_KINDS = ("followup",), ("first", "switch")


class CachedEmbedder(Embedder):
    """The bi-encoder, each text embedded once per run (history turns are replayed many times)."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__(embedder.settings)
        self._cache: dict[str, np.ndarray] = {}

    def run(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if missing:
            self._cache.update(zip(missing, super().run(missing, show_progress)))
        return np.stack([self._cache[text] for text in texts]) if texts else super().run(texts)


def variant(settings: Settings, section: str, **changes: Any) -> Settings:
    """`settings` with some keys of one section changed."""
    return settings.replace(**{section: dataclasses.replace(getattr(settings, section), **changes)})


class Replayer:
    """Asks each query after its history in a fresh conversation. A conversation whose turns so far
    are exactly a later query's history is continued rather than replayed (the same state, and
    about half the turns for a conversations file of consecutive turns)."""

    def __init__(self, pipeline: ChatPipeline) -> None:
        self.pipeline = pipeline
        self._after: dict[tuple[str, ...], str] = {}  # the turns asked so far → their conversation

    def ask(self, query: EvalQuery) -> Reply:
        if not query.history:
            return self.pipeline.ask(query.text)
        conversation_id = self._after.pop(query.history, None)
        if conversation_id is None:
            conversation_id = uuid.uuid4().hex
            for turn in query.history:
                self.pipeline.ask(turn, conversation_id)
        self._after[(*query.history, query.text)] = conversation_id
        return self.pipeline.ask(query.text, conversation_id)


def top1(query: EvalQuery, reply: Reply) -> bool:
    """Whether the reply's first source (answer, clarification option or suggestion) is right."""
    return bool(reply.sources) and query.matches(reply.sources[0].id)


def accuracy(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def top1_of_kinds(queries: Sequence[EvalQuery], correct: Sequence[bool], kinds: Sequence[str]) -> float:
    """Top-1 accuracy over the queries of these kinds."""
    return accuracy([c for q, c in zip(queries, correct) if q.kind in kinds])


def run_all(settings: Settings, kb: EvalKnowledgeBase, queries: Sequence[EvalQuery], label: str) -> list[Reply]:
    """Every query's reply from a fresh pipeline over `kb` with `settings`."""
    pipeline = ChatPipeline(settings, embedder=kb.embedder)
    pipeline.check_ready()
    replayer = Replayer(pipeline)
    with tqdm_progress() as progress:
        replies = []
        for done, query in enumerate(queries, 1):
            replies.append(replayer.ask(query))
            progress(label, done, len(queries))
    return replies


def conversation_figures(settings: Settings, kb: EvalKnowledgeBase, path: Path) -> dict[str, Any]:
    """Top-1 of follow-up and standalone turns, with context and without."""
    queries = read_queries(path)
    figures: dict[str, Any] = {"file": path.name, "turns": Counter(q.kind for q in queries)}
    for name, context in (("with_context", True), ("without_context", False)):
        replies = run_all(variant(settings, "conversation", context=context), kb, queries, f"conversations, {name}")
        correct = [top1(q, r) for q, r in zip(queries, replies)]
        figures[name] = {
            "followup_top1": top1_of_kinds(queries, correct, FOLLOWUP_KINDS),
            "standalone_top1": top1_of_kinds(queries, correct, STANDALONE_KINDS),
            "by_kind": {kind: top1_of_kinds(queries, correct, (kind,)) for kind in figures["turns"]},
            "clarifications": sum(r.intent == "clarify" for r in replies),
            "routed_to_intents": sum(r.intent not in ("faq", "out_of_scope", "clarify") for r in replies),
        }
    with_, without = figures["with_context"], figures["without_context"]
    figures["followup_gain_points"] = round(100 * (with_["followup_top1"] - without["followup_top1"]), 1)
    figures["standalone_change_points"] = round(100 * (with_["standalone_top1"] - without["standalone_top1"]), 1)
    return figures


def read_smalltalk(path: Path) -> list[EvalQuery]:
    """Lines of {"query", "intent"}: utterances and the intent they should be routed to."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [EvalQuery(row["query"], None, intent=row["intent"], line=number) for number, row in enumerate(rows, 1)]


def intent_examples(settings: Settings) -> set[str]:
    """The example utterances of the configured intents file, case-folded."""
    catalog = load_intents(settings.dialogue.intents)
    return {example.strip().casefold() for intent in catalog.intents for example in intent.examples}


def smalltalk_figures(settings: Settings, kb: EvalKnowledgeBase, path: Path) -> dict[str, Any]:
    """The routed intent of held-out small talk (utterances that are not intent examples), routing on and (baseline) off."""
    examples = intent_examples(settings)
    every = read_smalltalk(path)
    queries = [q for q in every if q.text.strip().casefold() not in examples]
    figures: dict[str, Any] = {"file": path.name, "utterances": len(queries), "left_out_as_examples": len(every) - len(queries)}
    for name, routing in (("routing_on", True), ("routing_off", False)):
        replies = run_all(variant(settings, "dialogue", routing=routing), kb, queries, f"small talk, {name}")
        correct = [r.intent == q.intent for q, r in zip(queries, replies)]
        figures[name] = {"accuracy": accuracy(correct)}
        if routing:
            figures[name]["by_intent"] = {
                intent: accuracy([c for q, c in zip(queries, correct) if q.intent == intent])
                for intent in sorted({q.intent for q in queries})
            }
            figures[name]["errors"] = [
                {"query": q.text, "expected": q.intent, "got": r.intent} for q, r, c in zip(queries, replies, correct) if not c
            ]
    return figures


def routing_guard(settings: Settings, kb: EvalKnowledgeBase, queries: Sequence[EvalQuery], label: str) -> dict[str, Any]:
    """Answers (right entry, or "I don't know" out of scope) with routing on and off: routing must not steal questions."""
    figures: dict[str, Any] = {"queries": len(queries)}
    for name, routing in (("routing_on", True), ("routing_off", False)):
        replies = run_all(variant(settings, "dialogue", routing=routing), kb, queries, f"{label}, {name}")
        answer_ids = [r.sources[0].id if r.answered and r.sources and r.intent == "faq" else None for r in replies]
        in_scope = [q.matches(a) for q, a in zip(queries, answer_ids) if q.in_scope]
        oos = [a is None for q, a in zip(queries, answer_ids) if not q.in_scope]
        figures[name] = {
            "in_scope_accuracy": accuracy(in_scope),
            "oos_recall": accuracy(oos) if oos else None,
            "routed_to_intents": dict(Counter(r.intent for r in replies if r.intent not in ("faq", "out_of_scope"))),
        }
    return figures


@contextmanager
def knowledge_base(settings: Settings, embedder: Embedder, **source: Any) -> Iterator[EvalKnowledgeBase]:
    with (
        tqdm_progress() as progress,
        temporary_knowledge_base(settings, embedder=embedder, progress=progress, **source) as kb,
    ):
        yield kb


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=Path, nargs="+", default=CONVERSATIONS,
                        help="conversation files; the first one is the test set of the targets")
    parser.add_argument("--smalltalk", type=Path, nargs="*", default=SMALLTALK, help="small-talk files; the first one is the test set")
    parser.add_argument("--clinc-split", choices=("val", "test"), default="test")
    parser.add_argument("--clinc-limit", type=int, help="a seeded sample of this many CLINC150 queries")
    parser.add_argument("--no-rerank", action="store_true", help="leave the re-ranker out even when configured")
    parser.add_argument("--skip-clinc", action="store_true")
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.no_rerank:
        settings = variant(settings, "reranker", enabled=False)
    embedder = CachedEmbedder(Embedder(settings.embedder))
    results: dict[str, Any] = {"reranker": settings.reranker.model if settings.reranker.enabled else None}
    with knowledge_base(settings, embedder, paths=[str(ROOT / "knowledge_base")]) as kb:
        results["conversations"] = [conversation_figures(kb.settings, kb, path) for path in args.conversations]
        results["smalltalk"] = [smalltalk_figures(kb.settings, kb, path) for path in args.smalltalk]
        results["demo_queries"] = routing_guard(kb.settings, kb, read_queries(DEMO_QUERIES), "demo queries")
    if SHARED_DATASETS.is_dir() and not args.skip_clinc:
        entries, queries = dataset_evaluation("clinc150", SHARED_DATASETS, args.clinc_split, args.clinc_limit)
        with knowledge_base(settings, embedder, entries=entries) as kb:
            results["clinc150"] = {"split": args.clinc_split, **routing_guard(kb.settings, kb, queries, "CLINC150")}
    report(results)


def report(results: dict[str, Any]) -> None:
    """Print the table, save the JSON and the bar chart."""
    rows = [("figure", "with", "baseline", "target")]
    bars: dict[str, dict[str, float]] = {}
    for conv in results["conversations"]:
        for turns, target in (("followup", "≥ 0.80 and +30 points"), ("standalone", "lose ≤ 1 point")):
            with_, without = conv["with_context"][f"{turns}_top1"], conv["without_context"][f"{turns}_top1"]
            label = f"{turns} top-1, {conv['file']}"
            rows.append((f"{label} (context / none)", f"{with_:.3f}", f"{without:.3f}", target))
            bars[label] = {"with": with_, "baseline": without}
    for talk in results["smalltalk"]:
        rows.append((f"small talk intent accuracy, {talk['file']} (routing / off)", f"{talk['routing_on']['accuracy']:.3f}",
                     f"{talk['routing_off']['accuracy']:.3f}", "≥ 0.95"))
        bars[f"small talk, {talk['file']}"] = {"with": talk["routing_on"]["accuracy"], "baseline": talk["routing_off"]["accuracy"]}
    guards: list[tuple[str, str, Callable[[dict[str, Any]], float | None]]] = [
        ("demo_queries", "demo queries in-scope accuracy", lambda f: f["in_scope_accuracy"]),
        ("clinc150", "CLINC150 in-scope accuracy", lambda f: f["in_scope_accuracy"]),
        ("clinc150", "CLINC150 oos recall", lambda f: f["oos_recall"]),
    ]
    for key, label, value in guards:
        if key in results:
            on, off = value(results[key]["routing_on"]), value(results[key]["routing_off"])
            rows.append((f"{label} (routing / off)", f"{on:.3f}", f"{off:.3f}", "not below off"))
            bars[label] = {"with": on, "baseline": off}
    print_table(rows)
    save_results("dialogue", results, bars, "accuracy", "Dialogue: with routing and context vs baseline")


if __name__ == "__main__":
    main()
