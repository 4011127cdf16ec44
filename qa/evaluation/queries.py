"""Labelled evaluation queries: the JSON Lines format of `qa eval --queries`, read and checked.

One JSON object per line: {"query": str, "expected": entry_id | [entry_id, ...] | null,
"history": [earlier user turns]} where null means out of scope (the right reply is
"I don't know") and `history` is optional. Optional "intent" (the intent the reply should
have) and "kind" (a label to break the figures down by) are read; other keys are ignored.
An expected `doc:<source>` matches every passage of that document (`doc:<source>#...`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCUMENT_PREFIX = "doc:"


class EvaluationError(ValueError):
    """Evaluation input that cannot be used; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class EvalQuery:
    """A query, the entries that answer it (None: out of scope), and the turns before it."""

    text: str
    expected: tuple[str, ...] | None
    history: tuple[str, ...] = ()
    intent: str | None = None
    kind: str | None = None
    line: int | None = None

    @property
    def in_scope(self) -> bool:
        return self.expected is not None

    def matches(self, entry_id: str | None) -> bool:
        """Whether `entry_id` is one of the right answers."""
        return entry_id is not None and any(_matches(expected, entry_id) for expected in self.expected or ())

    def rank_in(self, entry_ids: Sequence[str]) -> int | None:
        """The 1-based rank of the first right entry in `entry_ids`, None when absent."""
        return next((rank for rank, entry_id in enumerate(entry_ids, 1) if self.matches(entry_id)), None)


def _matches(expected: str, entry_id: str) -> bool:
    if entry_id == expected:
        return True
    return expected.startswith(DOCUMENT_PREFIX) and "#" not in expected and entry_id.startswith(f"{expected}#")


def read_queries(path: str | Path) -> list[EvalQuery]:
    """The queries of a JSON Lines file; every bad line is reported at once."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationError(f"{path}: cannot read the queries ({error})") from error
    queries, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            queries.append(parse_query(json.loads(line), number))
        except json.JSONDecodeError as error:
            problems.append(f"{path}:{number}: not valid JSON ({error.msg})")
        except EvaluationError as error:
            problems.append(f"{path}:{number}: {error}")
    if problems:
        raise EvaluationError(_listing(f"{len(problems)} bad line(s) in the queries", problems))
    if not queries:
        raise EvaluationError(f"{path}: no queries (one JSON object per line)")
    return queries


def parse_query(data: Any, line: int | None = None) -> EvalQuery:
    """One query from its JSON object."""
    if not isinstance(data, dict):
        raise EvaluationError("a line must be a JSON object with 'query' and 'expected'")
    text = data.get("query")
    if not isinstance(text, str) or not text.strip():
        raise EvaluationError("'query' must be a non-empty string")
    if "expected" not in data:
        raise EvaluationError("'expected' is missing (an entry id, a list of ids, or null for out of scope)")
    history = data.get("history", [])
    if not isinstance(history, list) or not all(isinstance(turn, str) and turn.strip() for turn in history):
        raise EvaluationError("'history' must be a list of non-empty strings")
    intent, kind = data.get("intent"), data.get("kind")
    for name, value in (("intent", intent), ("kind", kind)):
        if value is not None and not isinstance(value, str):
            raise EvaluationError(f"'{name}' must be a string")
    return EvalQuery(text, _expected(data["expected"]), tuple(history), intent, kind, line)


def _expected(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    ids = [value] if isinstance(value, str) else value
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise EvaluationError("'expected' must be an entry id, a non-empty list of entry ids, or null")
    return tuple(ids)


def check_expected(queries: Iterable[EvalQuery], entry_ids: Collection[str], origin: str) -> None:
    """Raise EvaluationError when a query expects an entry the knowledge base does not have."""
    known = set(entry_ids)
    problems = []
    for query in queries:
        for expected in query.expected or ():
            if expected not in known and not any(_matches(expected, entry_id) for entry_id in known):
                where = f"{origin}:{query.line}" if query.line else origin
                problems.append(f"{where}: expected '{expected}' is not in the knowledge base")
    if problems:
        raise EvaluationError(_listing(f"{len(problems)} unknown expected id(s)", problems))


def sample(queries: Sequence[EvalQuery], limit: int | None, seed: int = 13) -> list[EvalQuery]:
    """A seeded sample of `limit` queries in their original order (all of them when `limit` is None)."""
    if limit is None or limit >= len(queries):
        return list(queries)
    if limit < 1:
        raise EvaluationError("the number of queries must be at least 1")
    chosen = sorted(random.Random(seed).sample(range(len(queries)), limit))
    return [queries[index] for index in chosen]


def _listing(title: str, problems: Sequence[str], shown: int = 20) -> str:
    more = f"\n  ... and {len(problems) - shown} more" if len(problems) > shown else ""
    return f"{title}:\n" + "\n".join(f"  {problem}" for problem in problems[:shown]) + more
