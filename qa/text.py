"""Words of a message, as the dialogue rules read them."""

from __future__ import annotations

import re

_WORD = re.compile(r"[\w']+")


def words(text: str) -> list[str]:
    """The lower-cased words of `text` (apostrophes kept: "it's", "don't")."""
    return _WORD.findall(text.lower())
