"""A reply as chat messages: the answer with a confidence badge, its sources (expandable), options."""

from __future__ import annotations

from typing import Any

from qa.guards import safe_markdown, safe_url
from qa.types import Reply, Source

Message = dict[str, Any]
_MARKDOWN_SPECIAL = str.maketrans({char: f"\\{char}" for char in "\\`*_[]<>#|"})


def escape(text: str) -> str:
    """Text shown as itself in Markdown (no links, emphasis or tags)."""
    return text.translate(_MARKDOWN_SPECIAL)


def confidence_badge(confidence: float, threshold: float, margin: float) -> str:
    """A short label of how sure the bot is: high, medium (within `margin` of the threshold) or low."""
    level = "High" if confidence >= threshold + margin else "Medium" if confidence >= threshold else "Low"
    return f"{level} confidence ({confidence:.0%})"


def source_line(number: int, source: Source) -> str:
    """One source, numbered as a generated answer cites it: the entry's question, where it comes from
    (a link when it has a url), its score."""
    url = safe_url(source.url)
    where = f"[{escape(source.source)}]({url})" if url else f"`{source.source}`"
    return f"[{number}] **{escape(source.question)}**: {where}, score {source.score:.2f}"


def reply_messages(reply: Reply, threshold: float, margin: float, pending: bool = False) -> list[Message]:
    """The assistant messages of one reply; `pending` while it is still being written."""
    answer = safe_markdown(reply.answer)  # knowledge-base text: no script, handlers or javascript: links
    grounded = reply.answered and bool(reply.sources)
    if pending:
        answer += " …"  # still being written
    elif grounded:
        answer += f"\n\n<sub>{confidence_badge(reply.confidence, threshold, margin)}</sub>"
    message: Message = {"role": "assistant", "content": answer}
    choices = reply.options or reply.suggestions  # "Did you mean A or B?", else the closest questions
    if choices and not pending:
        message["options"] = [{"value": choice, "label": choice} for choice in choices]
    messages = [message]
    if grounded:
        messages.append(
            {
                "role": "assistant",
                "content": "\n\n".join(source_line(n, source) for n, source in enumerate(reply.sources, 1)),
                "metadata": {"title": f"Sources ({len(reply.sources)})", "status": "pending" if pending else "done"},
            }
        )
    return messages
