"""Checks on what users send, before any model runs, and on links before they are shown."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser
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


def safe_markdown(text: str) -> str:
    """Knowledge-base text made harmless before the chat renders it (the chat's own sanitiser runs after):
    script-like tags (`script`, `iframe`, `svg`, ...) and anything that is not a plain tag are shown as
    text; event handlers, `style` and attributes with malformed names go from every other tag; links
    that are not relative, http(s) or mailto lose their target. Everything else (Markdown, harmless
    HTML) is left as it is."""
    cleaner = _HtmlCleaner()
    cleaner.feed(text)
    cleaner.close()
    cleaned = "".join(cleaner.parts)
    return _REFERENCE_TARGET.sub(_safe_target, _INLINE_TARGET.sub(_safe_target, cleaned))


SHOWN_AS_TEXT = frozenset(
    "script style iframe frame frameset object embed applet svg math template noscript form input button "
    "textarea select option link meta base portal".split()
)
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster", "background", "srcset"})
_INLINE_TARGET = re.compile(r"(\]\(\s*<?)([^)\s>]*)")  # [text](target)
_REFERENCE_TARGET = re.compile(r"^( {0,3}\[[^\]]+\]:\s*<?)([^\s>]+)", re.MULTILINE)  # [label]: target
_AUTOLINK = re.compile(r"<([a-z][a-z0-9+.\-]{1,31}:[^<>\s]*)>", re.IGNORECASE)  # <https://...>
_TAG_NAME = re.compile(r"[a-z][a-z0-9\-]*")
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_.:\-]*")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")


def _target_allowed(value: str) -> bool:
    """Relative links, anchors and http(s)/mailto ones (browsers ignore blanks and controls in a scheme)."""
    scheme = _SCHEME.match("".join(char for char in value if char > " ").lower())
    return scheme is None or scheme.group(1) in SAFE_URL_SCHEMES


def _safe_target(match: re.Match[str]) -> str:
    return match.group(0) if _target_allowed(match.group(2)) else f"{match.group(1)}#"


def _attribute_allowed(name: str, value: str | None) -> bool:
    if not _ATTRIBUTE_NAME.fullmatch(name) or name.startswith("on") or name in ("style", "srcdoc"):
        return False
    return name not in URL_ATTRIBUTES or _target_allowed(value or "")


class _HtmlCleaner(HTMLParser):
    """Re-emits text and harmless tags; the rest becomes text (see `safe_markdown`)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        autolink = _AUTOLINK.fullmatch(raw)
        if autolink and _target_allowed(autolink.group(1)):  # Markdown's <https://...>
            self.parts.append(raw)
        elif autolink or tag in SHOWN_AS_TEXT or not _TAG_NAME.fullmatch(tag):
            self.parts.append(html.escape(raw, quote=False))
        else:
            kept = "".join(
                f' {name}="{html.escape(value or "")}"' for name, value in attrs if _attribute_allowed(name, value)
            )
            self.parts.append(f"<{tag}{kept}{' /' if raw.endswith('/>') else ''}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        shown = tag in SHOWN_AS_TEXT or not _TAG_NAME.fullmatch(tag)
        self.parts.append(f"&lt;/{html.escape(tag)}&gt;" if shown else f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace("<", "&lt;") if _TAG_START.search(data) else data)  # an unfinished tag

    def close(self) -> None:
        if self.rawdata.startswith("<"):  # a tag left unfinished at the end (text added after could finish it)
            self.parts.append(html.escape(self.rawdata, quote=False))
            self.rawdata = ""
        super().close()

    def handle_entityref(self, name: str) -> None:
        self.parts.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.parts.append(f"&#{name};")


_TAG_START = re.compile(r"<[a-zA-Z/!?]")
