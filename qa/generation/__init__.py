"""The optional generative reader: a small instruction model writes a grounded, cited answer.

`GenerativeReader.stream(question, hits, extractive)` yields growing partial replies, then the final
one: the generated answer (unsupported sentences and invalid citations removed), or the extractive
answer with the reason when the generated one cannot be grounded in the passages.
"""

from qa.generation.reader import GenerativeReader

__all__ = ["GenerativeReader"]
