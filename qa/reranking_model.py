"""How the re-ranker reads a candidate, and how its raw scores become a calibrated probability.

Pair construction (the same function builds the training pairs and the pairs scored at run time):
a hit becomes the text "question | best matched text", paired with the query. The question names
the entry (for an intent knowledge base it is the intent name, "card arrival"), and the best matched
text is the vector of the entry closest to the query (a training utterance, an alternate question,
or "question\\nanswer"). When the matched text already starts with the question it stands alone.
One pair per hit keeps a turn to 20 pairs.

Calibration: a logistic regression (Platt scaling) on three features of a hit, the cross-encoder's
logit (the highest over the hit's pairs), the bi-encoder's cosine similarity `hit.score`, and the
hit's support (`support_scores`: the mean similarity of its 3 best matched vectors, a k-NN vote).
Its output is the probability that the hit answers the query (the answer's confidence). It is
fitted on the validation queries of several knowledge bases, so one threshold means the same on each.

Ranking: the hits are ordered by the calibrated log-odds plus `classifier_weight` times the
knowledge base's entry classifier's probability of the hit's entry (`hit.entry_probability`,
`qa.entry_classifier`). That probability picks the right entry more often where entries have many
phrasings, but its scale depends on how many (it is diffuse on an FAQ with three alternates per
entry), so it orders the hits and stays out of the confidence.
This module imports nothing heavy, so the pipeline can import it at start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.types import Hit

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

PAIR_SEPARATOR = " | "
CALIBRATION_FILE = "calibration.json"
SUPPORT_TEXTS = 3


def pair_texts(query: str, hit: Hit) -> list[str]:
    """The texts to pair with `query` for one hit (the re-ranker scores each pair, keeps the best)."""
    question = hit.question.strip()
    matched = hit.matched_texts[0].strip() if hit.matched_texts else ""
    if not matched or matched.casefold().startswith(question.casefold()):
        return [matched or question]
    return [f"{question}{PAIR_SEPARATOR}{matched}"]


def hit_pairs(query: str, hits: Sequence[Hit]) -> tuple[list[tuple[str, str]], list[int]]:
    """All (query, text) pairs of the hits, and the index of the hit each pair belongs to."""
    pairs, owners = [], []
    for index, hit in enumerate(hits):
        for text in pair_texts(query, hit):
            pairs.append((query, text))
            owners.append(index)
    return pairs, owners


def best_per_hit(pair_logits: Sequence[float], owners: Sequence[int], hits: int) -> list[float]:
    """The highest logit of each hit's pairs."""
    best = [-math.inf] * hits
    for logit, owner in zip(pair_logits, owners):
        best[owner] = max(best[owner], float(logit))
    return best


def score_hits(
    model: CrossEncoder, query: str, hits: Sequence[Hit], calibration: Calibration, batch_size: int = 32
) -> list[tuple[float, float]]:
    """The calibrated probability and the ranking score of each hit, scored in one pass (the
    pipeline's entry point)."""
    if not hits:
        return []
    import torch

    pairs, owners = hit_pairs(query, hits)
    logits = model.predict(pairs, batch_size=batch_size, activation_fn=torch.nn.Identity(), show_progress_bar=False)
    best = best_per_hit(list(logits.reshape(-1)), owners, len(hits))
    return [
        (calibration.probability(logit, hit.score, support), calibration.ranking(logit, hit.score, support, hit.entry_probability))
        for logit, hit, support in zip(best, hits, support_scores(hits))
    ]


def support_scores(hits: Sequence[Hit]) -> list[float]:
    """Each hit's mean similarity over its 3 best matched vectors (how many close neighbours back it).

    A vector that the retriever did not return counts at the lowest similarity it did return (an
    upper bound of its own). A hit without `matched_scores` (built by hand) counts its `score`.
    """
    floor = min((score for hit in hits for score in hit.matched_scores), default=0.0)
    return [
        sum((list(hit.matched_scores) + [floor] * SUPPORT_TEXTS)[:SUPPORT_TEXTS]) / SUPPORT_TEXTS
        if hit.matched_scores
        else hit.score
        for hit in hits
    ]


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of (cross-encoder logit, bi-encoder similarity, support), the answer threshold,
    and the weight of the entry probability in the ranking."""

    logit_weight: float
    similarity_weight: float
    bias: float
    threshold: float
    method: str = "platt"
    support_weight: float = 0.0
    classifier_weight: float = 0.0

    def log_odds(self, logit: float, similarity: float, support: float = 0.0) -> float:
        """The calibrated log-odds that a hit with these scores answers the query."""
        return self.logit_weight * logit + self.similarity_weight * similarity + self.support_weight * support + self.bias

    def probability(self, logit: float, similarity: float, support: float = 0.0) -> float:
        """The calibrated probability that a hit with these scores answers the query."""
        z = self.log_odds(logit, similarity, support)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def ranking(self, logit: float, similarity: float, support: float = 0.0, entry_probability: float = 0.0) -> float:
        """The score that orders the hits: the log-odds, raised by the entry classifier's probability."""
        return self.log_odds(logit, similarity, support) + self.classifier_weight * entry_probability

    def save(self, model_dir: str | Path) -> Path:
        """Write `calibration.json` into the model folder."""
        path = Path(model_dir) / CALIBRATION_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


def load_calibration(model_dir: str | Path) -> Calibration:
    """The calibration shipped with a re-ranker model (its `calibration.json`)."""
    path = Path(model_dir) / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read the re-ranker calibration ({error})") from error
    if data.get("method", "platt") != "platt":
        raise ValueError(f"{path}: unknown calibration method {data['method']!r}")
    data = {"support_weight": 0.0, "classifier_weight": 0.0, **data}  # calibrations fitted without those features
    fields = ("logit_weight", "similarity_weight", "bias", "threshold", "support_weight", "classifier_weight")
    missing = [name for name in fields if not isinstance(data.get(name), (int, float))]
    if missing:
        raise ValueError(f"{path}: missing or non-numeric {', '.join(missing)}")
    return Calibration(**{name: float(data[name]) for name in fields})
