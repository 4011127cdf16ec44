"""Checks on what users send, before any model runs."""

from __future__ import annotations

import unicodedata

from qa.config import LimitSettings


class InputRejected(ValueError):
    """A message the bot will not process; the text is safe to show to the user."""


def check_input(message: object, limits: LimitSettings) -> str:
    """The message, cleaned of control characters and lone surrogates, or InputRejected."""
    if not isinstance(message, str):
        raise InputRejected("Please send your question as text.")
    if len(message) > limits.max_message_chars:
        raise InputRejected(
            f"Your message is too long ({len(message):,} characters). "
            f"Please keep it under {limits.max_message_chars:,} characters."
        )
    cleaned = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cs") and char not in "\n\t" else char for char in message
    )
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InputRejected("Please type a question.")
    return cleaned
