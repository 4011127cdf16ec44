"""Checks on what users send, before any model runs, and on links before they are shown."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from qa.config import LimitSettings

# Explicit direction embeddings, overrides and isolates: they can make shown text read otherwise
# than it is stored (the "Trojan Source" trick); the marks U+200E and U+200F are harmless and kept.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_URL_ESCAPES = str.maketrans({char: f"%{ord(char):02X}" for char in "()<>[]\"'` \\\n\t"})


class InputRejected(ValueError):
    """A message the bot will not process; the text is safe to show to the user."""


def check_input(message: object, limits: LimitSettings) -> str:
    """The message, cleaned of control characters, direction overrides and lone surrogates, or InputRejected.

    The length is checked first, so an oversized message costs nothing more.
    """
    if not isinstance(message, str):
        raise InputRejected("Please send your question as text.")
    if len(message) > limits.max_message_chars:
        raise InputRejected(
            f"Your message is too long ({len(message):,} characters). "
            f"Please keep it under {limits.max_message_chars:,} characters."
        )
    cleaned = " ".join("".join(" " if _unsafe(char) else char for char in message).split())
    if not cleaned:
        raise InputRejected("Please type a question.")
    return cleaned


def _unsafe(char: str) -> bool:
    """Control characters (but newlines and tabs), lone surrogates, direction overrides."""
    return (unicodedata.category(char) in ("Cc", "Cs") and char not in "\n\t") or char in BIDI_CONTROLS


def safe_url(url: str | None) -> str | None:
    """`url` as a link that is safe in Markdown: absolute http(s) or mailto only (None for
    `javascript:`, `data:` and the rest), with the characters that could close the link escaped."""
    if not url or any(_unsafe(char) for char in url):
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SAFE_URL_SCHEMES or not (parts.netloc or scheme == "mailto"):
        return None
    return url.strip().translate(_URL_ESCAPES)
