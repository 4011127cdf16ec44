"""How the re-ranker reads a candidate, and how its raw scores become a calibrated probability.

Pair construction (the same function builds the training pairs and the pairs scored at run time):
a hit becomes the text "question | best matched text", paired with the query. The question names
the entry (for an intent knowledge base it is the intent name, "card arrival"), and the best matched
text is the vector of the entry closest to the query (a training utterance, an alternate question,
or "question\\nanswer"). When the matched text already starts with the question it stands alone.
One pair per hit keeps a turn to 20 pairs.

Calibration: a logistic regression (Platt scaling) on two features of a hit, the cross-encoder's
logit (the highest over the hit's pairs) and the bi-encoder's cosine similarity `hit.score`. Its
output is the probability that the hit answers the query; it also orders the hits. It is fitted on
the validation queries of several knowledge bases, so one threshold means the same on each.
This module imports nothing heavy, so the pipeline can import it at start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.types import Hit

PAIR_SEPARATOR = " | "
CALIBRATION_FILE = "calibration.json"


def pair_texts(query: str, hit: Hit) -> list[str]:
    """The texts to pair with `query` for one hit (the re-ranker scores each pair, keeps the best)."""
    question = hit.question.strip()
    matched = hit.matched_texts[0].strip() if hit.matched_texts else ""
    if not matched or matched.casefold().startswith(question.casefold()):
        return [matched or question]
    return [f"{question}{PAIR_SEPARATOR}{matched}"]


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of (cross-encoder logit, bi-encoder similarity), and the answer threshold."""

    logit_weight: float
    similarity_weight: float
    bias: float
    threshold: float
    method: str = "platt"

    def probability(self, logit: float, similarity: float) -> float:
        """The calibrated probability that a hit with these scores answers the query."""
        z = self.logit_weight * logit + self.similarity_weight * similarity + self.bias
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def score_hit(self, pair_logits: Sequence[float], hit: Hit) -> float:
        """The calibrated probability of a hit from the logits of its pairs (see `pair_texts`)."""
        if not pair_logits:
            raise ValueError("a hit needs at least one pair logit")
        return self.probability(max(pair_logits), hit.score)

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
    fields = ("logit_weight", "similarity_weight", "bias", "threshold")
    missing = [name for name in fields if not isinstance(data.get(name), (int, float))]
    if missing:
        raise ValueError(f"{path}: missing or non-numeric {', '.join(missing)}")
    return Calibration(**{name: float(data[name]) for name in fields})
