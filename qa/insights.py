"""What the recorded turns say: answer rate, latency, feedback, and the gaps in the FAQ.

The gaps are the questions the bot could not answer or answered with low confidence, clustered
by meaning with the bi-encoder (community detection on cosine similarity), biggest first, each
with its count, examples and the closest entry the bot found: ready to become new FAQ entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from qa.embedder import Embedder
from qa.records import TurnRecord

CLUSTER_SIMILARITY = 0.6
MAX_GAP_QUESTIONS = 2000
EXAMPLES_PER_GAP = 3
PERCENTILES = (50, 90, 99)
BUCKET_WIDTHS_S = (60, 300, 3600, 86400)
MAX_POINTS = 48
NOT_GAPS = frozenset({"invalid_input", "clarify", "error"})  # bad input, a question back, a failure


@dataclass(frozen=True)
class Gap:
    """A cluster of similar questions the knowledge base does not answer well."""

    count: int
    examples: tuple[str, ...]
    closest: str | None
    closest_score: float | None


@dataclass(frozen=True)
class Insights:
    """Figures over a set of recorded turns."""

    turns: int
    answered: int
    low_confidence: int
    feedback: dict[str, int]
    latency_ms: dict[str, float]
    first_token_ms: dict[str, float]
    intents: dict[str, int]
    gaps: tuple[Gap, ...]
    series: tuple[dict, ...]

    @property
    def answer_rate(self) -> float:
        return self.answered / self.turns if self.turns else 0.0

    def to_json(self) -> dict:
        """The figures as plain JSON (the `/insights` API)."""
        return {
            "turns": self.turns,
            "answered": self.answered,
            "answer_rate": round(self.answer_rate, 4),
            "low_confidence": self.low_confidence,
            "feedback": self.feedback,
            "latency_ms": self.latency_ms,
            "first_token_ms": self.first_token_ms,
            "intents": self.intents,
            "gaps": [gap.__dict__ for gap in self.gaps],
            "series": [{**row, "time": row["time"].isoformat()} for row in self.series],
        }


def is_gap(turn: TurnRecord, low_confidence: float) -> bool:
    """Whether a turn shows a gap: not answered, or an FAQ answer under the low-confidence bar."""
    if turn.intent in NOT_GAPS:
        return False
    return not turn.answered or (turn.intent == "faq" and turn.confidence < low_confidence)


def summarize(turns: Sequence[TurnRecord], feedback: dict[str, int], embedder: Embedder, low_confidence: float) -> Insights:
    """The insights over `turns`; `low_confidence` is the confidence under which an answer is weak."""
    gap_turns = [turn for turn in turns if is_gap(turn, low_confidence)]
    return Insights(
        turns=len(turns),
        answered=sum(turn.answered for turn in turns),
        low_confidence=sum(turn.answered and is_gap(turn, low_confidence) for turn in turns),
        feedback=feedback,
        latency_ms=percentiles([turn.latency_ms for turn in turns]),
        first_token_ms=percentiles([turn.first_token_ms for turn in turns if turn.first_token_ms is not None]),
        intents=dict(Counter(turn.intent for turn in turns).most_common()),
        gaps=cluster_gaps(gap_turns[-MAX_GAP_QUESTIONS:], embedder),
        series=time_series(turns),
    )


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p90 and p99 of `values` (empty when there are none)."""
    if not values:
        return {}
    points = np.percentile(np.asarray(values, dtype=float), PERCENTILES)
    return {f"p{p}": round(float(v), 1) for p, v in zip(PERCENTILES, points)}


def cluster_gaps(turns: Sequence[TurnRecord], embedder: Embedder) -> tuple[Gap, ...]:
    """Group the questions of `turns` by meaning, biggest group first."""
    from sentence_transformers.util import community_detection

    if not turns:
        return ()
    by_text: dict[str, list[TurnRecord]] = {}
    for turn in turns:
        by_text.setdefault(" ".join(turn.question.casefold().split()), []).append(turn)
    texts = list(by_text)
    vectors = embedder.run([by_text[text][0].question for text in texts])
    clusters = community_detection(vectors, threshold=CLUSTER_SIMILARITY, min_community_size=1)
    gaps = [_gap([by_text[texts[i]] for i in members]) for members in clusters]
    return tuple(sorted(gaps, key=lambda gap: -gap.count))


def _gap(groups: list[list[TurnRecord]]) -> Gap:
    """A gap from the turns of each distinct question in one cluster."""
    groups = sorted(groups, key=len, reverse=True)
    top = groups[0][-1]
    closest = top.sources[0] if top.sources else None
    return Gap(
        count=sum(len(group) for group in groups),
        examples=tuple(group[-1].question for group in groups[:EXAMPLES_PER_GAP]),
        closest=closest["question"] if closest else None,
        closest_score=closest["score"] if closest else None,
    )


def time_series(turns: Sequence[TurnRecord]) -> tuple[dict, ...]:
    """Turns, answer rate and latency percentiles per time bucket (the narrowest of a minute, five
    minutes, an hour or a day that gives at most MAX_POINTS buckets)."""
    if not turns:
        return ()
    span = turns[-1].time - turns[0].time
    width = next((w for w in BUCKET_WIDTHS_S if span / w < MAX_POINTS), BUCKET_WIDTHS_S[-1])
    buckets: dict[float, list[TurnRecord]] = {}
    for turn in turns:
        buckets.setdefault(turn.time // width * width, []).append(turn)
    rows = []
    for start, bucket in sorted(buckets.items()):
        latency = percentiles([turn.latency_ms for turn in bucket])
        rows.append(
            {
                "time": datetime.fromtimestamp(start, tz=UTC),
                "turns": len(bucket),
                "answer_rate": round(sum(turn.answered for turn in bucket) / len(bucket), 4),
                "p50_ms": latency["p50"],
                "p90_ms": latency["p90"],
            }
        )
    return tuple(rows)
