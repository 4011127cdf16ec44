"""GenerativeReader: prompt → streamed draft → citations filtered → grounding check → reply or fallback."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from qa.config import GenerationSettings
from qa.generation.citations import Citations, ensure_citation, filter_citations, strip_citations
from qa.generation.generator import GenerationStats, Generator, make_generator
from qa.generation.grounding import Encoder, Grounder, Grounding, split_sentences
from qa.generation.prompt import Prompt, build_prompt
from qa.models import ModelError
from qa.types import Hit, Reply, Source

log = logging.getLogger(__name__)

CLOSEST = "this is the closest answer from the knowledge base."
FALLBACK_NOTES = {
    "error": f"(The answer could not be generated; {CLOSEST})",
    "time_limit": f"(Writing an answer took too long; {CLOSEST})",
    "empty": f"(The model wrote no answer; {CLOSEST})",
    "no_supported_sentence": f"(The written answer was not supported by the sources, so {CLOSEST})",
}


@dataclass
class Draft:
    """What the model wrote for one prompt, and how fast."""

    text: str = ""
    stats: GenerationStats = field(default_factory=GenerationStats)
    first_token_ms: float | None = None
    elapsed_ms: float = 0.0
    error: str | None = None
    cut: bool = False  # stopped by max_new_tokens or max_sentences: the last sentence may be unfinished

    @property
    def tokens_per_s(self) -> float:
        return self.stats.tokens / (self.elapsed_ms / 1000) if self.elapsed_ms > 0 else 0.0


@dataclass(frozen=True)
class Review:
    """A draft checked: its citations, each sentence's support, and the answer kept (supported sentences,
    each citing the passage that supports it when the model cited none), or why it falls back."""

    citations: Citations
    grounding: Grounding
    answer: str
    fallback_reason: str | None


class GenerativeReader:
    """Writes a cited answer from the best passages with a small model; checks it before it is shown."""

    def __init__(self, settings: GenerationSettings, encoder: Encoder, generator: Generator | None = None) -> None:
        self.settings = settings
        self.generator = generator or make_generator(settings)
        self.grounder = Grounder(encoder, settings.support_threshold)

    def load(self) -> None:
        """Load the model now (it is otherwise loaded in the first generated turn)."""
        self.generator.load()

    def prompt(self, question: str, hits: Sequence[Hit]) -> Prompt:
        """The grounded prompt over the first max_passages hits, numbered from 1."""
        passages = [(hit.question, hit.answer) for hit in hits[: self.settings.max_passages]]
        return build_prompt(question, passages, self.settings.passage_chars, self.generator.reserved_tokens)

    def write(self, prompt: Prompt, draft: Draft) -> Iterator[str]:
        """The growing text of the draft; `draft` holds the text, timings and any error at the end."""
        start = time.perf_counter()
        pieces = self.generator.stream(prompt, draft.stats)
        try:
            for piece in pieces:
                if draft.first_token_ms is None:
                    draft.first_token_ms = (time.perf_counter() - start) * 1000
                draft.text += piece
                yield draft.text
                if len(split_sentences(draft.text)) > self.settings.max_sentences:
                    draft.cut = True
                    break
        except ModelError:
            raise
        except Exception as error:  # a failed generation falls back, the turn is still answered
            log.exception("generation failed")
            draft.error = f"{type(error).__name__}: {error}"
        finally:
            pieces.close()  # stops the model when the draft is long enough or the consumer has gone
            draft.elapsed_ms = (time.perf_counter() - start) * 1000
            draft.cut = draft.cut or draft.stats.tokens >= self.settings.max_new_tokens

    def review(self, draft: Draft, prompt: Prompt) -> Review:
        """Filter the citations, check each sentence against the passages, decide whether to fall back."""
        citations = filter_citations(draft.text, len(prompt.passages))
        sentences = [sentence for sentence in split_sentences(citations.text) if strip_citations(sentence)]
        if sentences and draft.cut and not _is_complete(sentences[-1]):
            sentences.pop()  # unfinished: cut off by max_new_tokens or max_sentences
        sentences = sentences[: self.settings.max_sentences]
        grounding = self.grounder.run(sentences, [passage.text for passage in prompt.passages])
        reason = (
            "error" if draft.error
            else "time_limit" if draft.stats.timed_out
            else "empty" if not sentences
            else "no_supported_sentence" if not grounding.supported
            else None
        )  # fmt: skip
        answer = " ".join(ensure_citation(s.sentence, s.passage) for s in grounding.supported)
        return Review(citations, grounding, answer, reason)

    def stream(self, question: str, hits: Sequence[Hit], extractive: Reply) -> Iterator[Reply]:
        """Partial replies as the model writes, then the checked answer or the extractive one with the reason."""
        prompt = self.prompt(question, hits)
        sources = tuple(Source.from_hit(hit) for hit in hits[: len(prompt.passages)])
        partial = dataclasses.replace(extractive, sources=sources, suggestions=(), generated=True)
        draft = Draft()
        for text in self.write(prompt, draft):
            yield dataclasses.replace(partial, answer=filter_citations(text, len(sources)).text)
        start = time.perf_counter()
        review = self.review(draft, prompt)
        generate_ms = draft.elapsed_ms + (time.perf_counter() - start) * 1000
        timings = {
            **extractive.timings_ms,
            "first_token": draft.first_token_ms or 0.0,
            "generate": generate_ms,
            "total": extractive.timings_ms.get("total", 0.0) + generate_ms,
        }
        if review.fallback_reason is None:
            yield dataclasses.replace(partial, answer=review.answer, timings_ms=timings)
        else:
            note = FALLBACK_NOTES[review.fallback_reason]
            yield dataclasses.replace(
                extractive, answer=f"{extractive.answer}\n\n{note}", timings_ms=timings, fallback_reason=review.fallback_reason
            )


def _is_complete(sentence: str) -> bool:
    """Whether a sentence ends like one (a citation may follow its full stop)."""
    return strip_citations(sentence).endswith((".", "!", "?", ":", ")"))
