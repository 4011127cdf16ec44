"""Chat turns through the pipeline, each recorded (question, reply, latency) for feedback and insights."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from qa.pipeline import ChatPipeline
from qa.records import Records
from qa.types import Reply

log = logging.getLogger(__name__)
FAILURE = Reply(
    answer="Sorry, something went wrong on our side. Please try again in a moment.",
    intent="error",
    confidence=0.0,
    answered=False,
)


@dataclass(frozen=True)
class Step:
    """A reply as it is streamed: partial ones first, then the complete one with its recorded turn id."""

    reply: Reply
    turn_id: int | None = None

    @property
    def done(self) -> bool:
        return self.turn_id is not None


class RecordedChat:
    """Answers turns with the pipeline and records each complete one."""

    def __init__(self, pipeline: ChatPipeline, records: Records) -> None:
        self.pipeline = pipeline
        self.records = records

    @property
    def can_generate(self) -> bool:
        """Whether the pipeline offers a generative answer (`stream(..., generate=True)`)."""
        return "generate" in inspect.signature(self.pipeline.stream).parameters

    def stream(
        self, message: str, conversation_id: str | None, channel: str, generate: bool | None = None
    ) -> Iterator[Step]:
        """The growing reply to `message` (`generate`: None as the config says); the last step is complete and recorded."""
        options = {"generate": generate} if self.can_generate and generate is not None else {}
        start = time.perf_counter()
        first_ms = None
        reply = FAILURE
        try:
            for reply in self.pipeline.stream(message, conversation_id, **options):
                if first_ms is None:
                    first_ms = (time.perf_counter() - start) * 1000
                yield Step(reply)
        except Exception:  # a failed turn is answered politely and logged, never shown raw
            log.exception("turn failed: %r", message[:200])
            reply = FAILURE
        latency_ms = (time.perf_counter() - start) * 1000
        turn_id = self.records.add_turn(message, reply, latency_ms, conversation_id, channel, first_ms)
        yield Step(reply, turn_id)

    def ask(self, message: str, conversation_id: str | None, channel: str, generate: bool | None = None) -> Reply:
        """The complete reply to `message` (recorded)."""
        *_, last = self.stream(message, conversation_id, channel, generate)
        return last.reply
