"""The generative reader against the extractive answer, on the demo knowledge base (same run, same hits).

Over benchmarks/data/reader_questions.jsonl (questions with the facts a right answer must contain):
fact recall (share of facts the answer contains), model-written citation validity, share of supported
sentences, fallback rate, time to first token, tokens per second; and the fallback rate and recall
at other support thresholds, recomputed from the same drafts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from common import ROOT, percentiles, save_results

from qa.config import load_settings
from qa.generation.grounding import split_sentences
from qa.generation.reader import Draft, GenerativeReader, Review
from qa.pipeline import ChatPipeline

QUESTIONS = ROOT / "benchmarks" / "data" / "reader_questions.jsonl"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8)


def recall(answer: str, facts: list[str]) -> float:
    """The share of `facts` that `answer` contains (case and spacing ignored)."""
    text = " ".join(answer.lower().split())
    return sum(" ".join(fact.lower().split()) in text for fact in facts) / len(facts)


def final_answer(review: Review, extractive: str) -> str:
    """What the user reads: the checked answer, or the extractive one on a fallback."""
    return review.answer if review.fallback_reason is None else extractive


def run_question(pipeline: ChatPipeline, reader: GenerativeReader, item: dict) -> dict:
    """One question: the extractive reply, the model's draft, its review, and the timings."""
    start = time.perf_counter()
    turn = pipeline._turn(item["query"], None)
    extractive_ms = (time.perf_counter() - start) * 1000
    row = {"query": item["query"], "facts": item["facts"], "extractive": turn.reply.answer, "extractive_ms": extractive_ms}
    row["routed"] = bool(turn.hits) and turn.reply.intent == "faq" and turn.reply.answered
    if not row["routed"]:  # the pipeline answers these without the model
        return {**row, "final": turn.reply.answer, "recall_extractive": recall(turn.reply.answer, item["facts"])}
    prompt = reader.prompt(turn.question, turn.hits)
    draft = Draft()
    for _ in reader.write(prompt, draft):
        pass
    review = reader.review(draft, prompt)
    extractive_support = reader.grounder.run(split_sentences(turn.reply.answer), [p.text for p in prompt.passages])
    return {
        **row,
        "draft": draft.text,
        "final": final_answer(review, turn.reply.answer),
        "fallback_reason": review.fallback_reason,
        "review": review,
        "recall_extractive": recall(turn.reply.answer, item["facts"]),
        "recall_draft": recall(draft.text, item["facts"]),
        "recall_generative": recall(final_answer(review, turn.reply.answer), item["facts"]),
        "supported_extractive": extractive_support.share,
        "first_token_ms": draft.first_token_ms,
        "tokens": draft.stats.tokens,
        "generate_ms": draft.elapsed_ms,
    }


def at_threshold(rows: list[dict], threshold: float) -> dict[str, float]:
    """Fallback rate (of the questions the reader saw) and fact recall (of all) at another support threshold."""
    falls, recalls = [], [row["recall_extractive"] for row in rows if not row["routed"]]
    for row in (row for row in rows if row["routed"]):
        review: Review = row["review"]
        grounding = dataclasses.replace(review.grounding, threshold=threshold)
        falls_back = review.fallback_reason in ("error", "time_limit", "empty") or not grounding.supported
        kept = " ".join(s.sentence for s in grounding.supported)
        falls.append(falls_back)
        recalls.append(recall(row["extractive"] if falls_back else kept, row["facts"]))
    return {"fallback_rate": float(np.mean(falls)), "fact_recall": float(np.mean(recalls))}


def summarize(rows: list[dict], settings_threshold: float) -> dict:
    routed = [row for row in rows if row["routed"]]
    reviews: list[Review] = [row["review"] for row in routed]
    valid = sum(len(r.citations.valid) for r in reviews)
    written = sum(r.citations.total for r in reviews)
    sentences = sum(len(r.grounding.sentences) for r in reviews)
    tokens, seconds = sum(row["tokens"] for row in routed), sum(row["generate_ms"] for row in routed) / 1000
    reasons = [row["fallback_reason"] for row in routed]
    return {
        "questions": len(rows),
        "routed_to_reader": len(routed),
        "fact_recall": {
            "extractive": float(np.mean([row["recall_extractive"] for row in rows])),
            "generative": float(np.mean([row.get("recall_generative", row["recall_extractive"]) for row in rows])),
            "draft_unchecked": float(np.mean([row["recall_draft"] for row in routed])),
            "extractive_reader_questions": float(np.mean([row["recall_extractive"] for row in routed])),
            "generative_reader_questions": float(np.mean([row["recall_generative"] for row in routed])),
        },
        "supported_sentence_share": {
            "extractive": float(np.mean([row["supported_extractive"] for row in routed])),
            "draft": sum(len(r.grounding.supported) for r in reviews) / max(sentences, 1),
        },
        "citations_written_by_model": written,
        "citation_validity": valid / written if written else None,
        "fallback_rate": sum(reason is not None for reason in reasons) / len(routed),
        "fallback_reasons": {reason: reasons.count(reason) for reason in sorted(set(reasons) - {None})},
        "time_to_first_token_ms": percentiles([row["first_token_ms"] or row["generate_ms"] for row in routed]),
        "extractive_answer_ms": percentiles([row["extractive_ms"] for row in rows]),
        "tokens_per_s": tokens / seconds if seconds else 0.0,
        "support_threshold": settings_threshold,
        "by_threshold": {str(t): at_threshold(rows, t) for t in THRESHOLDS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="override generation settings")
    args = parser.parse_args()
    items = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings().replace(data_dir=Path(tmp) / "data")
        overrides = {key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in args.set)}
        settings = settings.replace(generation=dataclasses.replace(settings.generation, **overrides))
        pipeline = ChatPipeline(settings)
        pipeline.sync_knowledge_base()
        pipeline.check_ready()
        start = time.perf_counter()
        reader = pipeline.generative_reader
        reader.load()
        load_s = time.perf_counter() - start
        rows = []
        for i, item in enumerate(items, 1):
            rows.append(run_question(pipeline, reader, item))
            outcome = rows[-1].get("fallback_reason") or ("kept" if rows[-1]["routed"] else "not routed")
            print(f"{i}/{len(items)} {outcome}: {rows[-1]['final'][:90]!r}", flush=True)
    summary = {"model": settings.generation.model, "load_s": load_s, **summarize(rows, settings.generation.support_threshold)}
    print_table(summary)
    details = [{k: v for k, v in row.items() if k != "review"} for row in rows]
    bars = {
        "fact recall": {"extractive": summary["fact_recall"]["extractive"], "generative": summary["fact_recall"]["generative"]},
        "supported sentences": {
            "extractive": summary["supported_sentence_share"]["extractive"],
            "generative": summary["supported_sentence_share"]["draft"],
        },
        "fallback rate": {"generative": summary["fallback_rate"]},
        "citation validity": {"generative": summary["citation_validity"] or 0.0},
    }
    save_results("reader", {**summary, "rows": details}, bars, "share", "Generative reader vs extractive answer")


def print_table(summary: dict) -> None:
    recall_, support = summary["fact_recall"], summary["supported_sentence_share"]
    print(f"\nmodel {summary['model']}: loaded in {summary['load_s']:.1f} s; "
          f"{summary['routed_to_reader']}/{summary['questions']} questions reached the reader")  # fmt: skip
    print(f"{'':28}{'extractive':>12}{'generative':>12}")
    print(f"{'fact recall':28}{recall_['extractive']:12.3f}{recall_['generative']:12.3f}"
          f"   (draft before the check: {recall_['draft_unchecked']:.3f})")  # fmt: skip
    print(f"{'supported sentence share':28}{support['extractive']:12.3f}{support['draft']:12.3f}   (of the draft)")
    validity = summary["citation_validity"]
    print(f"{'citation validity':28}{'':12}{validity if validity is None else f'{validity:12.3f}'}"
          f"   ({summary['citations_written_by_model']} written by the model)")  # fmt: skip
    print(f"{'fallback rate':28}{'':12}{summary['fallback_rate']:12.3f}   {summary['fallback_reasons']}")
    ttft, extractive = summary["time_to_first_token_ms"], summary["extractive_answer_ms"]
    print(f"{'latency p50 ms':28}{extractive['p50']:12.0f}{ttft['p50']:12.0f}   (generative: to first token, after retrieval)")
    print(f"{'tokens per second':28}{'':12}{summary['tokens_per_s']:12.1f}")
    for threshold, values in summary["by_threshold"].items():
        print(f"  support threshold {threshold}: fallback {values['fallback_rate']:.3f}, fact recall {values['fact_recall']:.3f}")


if __name__ == "__main__":
    main()
