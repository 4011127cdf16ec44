"""The extractive reader: the best FAQ answer or passage, its sources, or an honest "I don't know"."""

from __future__ import annotations

from collections.abc import Sequence

from qa.config import AnswerSettings
from qa.types import Hit, Reply, Source


class ExtractiveReader:
    """Turns ranked hits into a reply."""

    def __init__(self, settings: AnswerSettings) -> None:
        self.settings = settings

    def run(self, hits: Sequence[Hit], threshold: float) -> Reply:
        """Answer with the best hit when its confidence reaches `threshold`, else suggest."""
        if hits and hits[0].confidence >= threshold:
            best = hits[0]
            supporting = [hit for hit in hits[: self.settings.max_sources] if hit.confidence >= threshold]
            sources = tuple(Source.from_hit(hit) for hit in supporting)
            return Reply(answer=best.answer, intent="faq", confidence=best.confidence, sources=sources)
        suggestions = tuple(dict.fromkeys(hit.question for hit in hits if not hit.is_passage))[: self.settings.suggestions]
        text = self.settings.dont_know
        if suggestions:
            text += " Maybe one of these helps:\n" + "\n".join(f"- {question}" for question in suggestions)
        return Reply(
            answer=text,
            intent="out_of_scope",
            confidence=hits[0].confidence if hits else 0.0,
            sources=tuple(Source.from_hit(hit) for hit in hits[: self.settings.max_sources]),
            suggestions=suggestions,
            answered=False,
        )
