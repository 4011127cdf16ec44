"""Print a streamed reply in a terminal: the draft as it is written, then the checked answer when it differs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from qa.types import Reply


def print_stream(replies: Iterable[Reply], out: TextIO) -> Reply:
    """Write the growing answer to `out` token by token; return the final reply."""
    shown = ""
    final: Reply | None = None
    for reply in replies:
        final = reply
        if reply.generated and reply.answer.startswith(shown):
            out.write(reply.answer[len(shown) :])
            out.flush()
            shown = reply.answer
    assert final is not None, "a stream ends with its final reply"
    if shown and final.answer != shown:
        heading = "Checked answer (unsupported sentences removed):" if final.generated else "Answer:"
        out.write(f"\n\n{heading}\n{final.answer}")
    elif not shown:
        out.write(final.answer)
    out.write("\n")
    return final
