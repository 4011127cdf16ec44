"""The terminal view of a streamed reply."""

from __future__ import annotations

import io

from qa.generation.console import print_stream
from qa.types import Reply


def reply(answer: str, generated: bool = True, reason: str | None = None) -> Reply:
    return Reply(answer=answer, intent="faq", confidence=0.9, generated=generated, fallback_reason=reason)


def test_tokens_are_written_as_they_come_and_an_unchanged_answer_is_not_repeated() -> None:
    out = io.StringIO()
    final = print_stream([reply("Plus"), reply("Plus costs $5"), reply("Plus costs $5 [1].")], out)
    assert out.getvalue() == "Plus costs $5 [1].\n" and final.answer == "Plus costs $5 [1]."


def test_a_checked_or_fallback_answer_that_differs_is_printed_after_the_draft() -> None:
    out = io.StringIO()
    print_stream([reply("Plus costs $5 [1]. Wrong."), reply("Plus costs $5 [1].")], out)
    assert out.getvalue() == (
        "Plus costs $5 [1]. Wrong.\n\nChecked answer (unsupported sentences removed):\nPlus costs $5 [1].\n"
    )
    out = io.StringIO()
    print_stream([reply("Nonsense"), reply("Extractive.\n\n(note)", generated=False, reason="empty")], out)
    assert out.getvalue() == "Nonsense\n\nAnswer:\nExtractive.\n\n(note)\n"


def test_an_extractive_reply_is_printed_once() -> None:
    out = io.StringIO()
    print_stream([reply("Extractive.", generated=False)], out)
    assert out.getvalue() == "Extractive.\n"
