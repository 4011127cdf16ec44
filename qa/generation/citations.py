"""Citations [n] in a generated answer: keep those that name a passage of this turn, drop the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass

# [1], [1, 2], [1][2]; also "[Passage 1]" and "[passage 1, 3]", which small models write.
CITATION = re.compile(r"\s*\[\s*(?:passages?\s*)?(\d+(?:\s*(?:,|and)\s*\d+)*)\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Citations:
    """An answer with its citations filtered, and the numbers it cited."""

    text: str
    valid: tuple[int, ...]
    invalid: tuple[int, ...]

    @property
    def total(self) -> int:
        return len(self.valid) + len(self.invalid)


def filter_citations(text: str, n_passages: int) -> Citations:
    """Keep the citations of passages 1..n_passages, written as [n] or [n, m]; remove the others."""
    valid: list[int] = []
    invalid: list[int] = []

    def rewrite(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        kept = [n for n in numbers if 1 <= n <= n_passages]
        valid.extend(kept)
        invalid.extend(n for n in numbers if n not in kept)
        return f" [{', '.join(map(str, dict.fromkeys(kept)))}]" if kept else ""

    return Citations(CITATION.sub(rewrite, text).strip(), tuple(valid), tuple(invalid))


def strip_citations(text: str) -> str:
    """The text without any citation (what the grounding check compares)."""
    return CITATION.sub("", text).strip()



def ensure_citation(sentence: str, number: int) -> str:
    """`sentence` as it is when it cites a passage, else with [number] before its final punctuation."""
    if CITATION.search(sentence):
        return sentence
    body = sentence.rstrip(".!?:")
    return f"{body} [{number}]{sentence[len(body):]}"
