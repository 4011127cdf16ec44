"""A record of chat turns and of the feedback on them, in SQLite under the data folder.

Each turn keeps its question, answer, intent, confidence, sources, latency and time; a thumbs
up or down keeps a copy of the question, answer and sources it judged, so that feedback stays
meaningful after the knowledge base changes. The insights tab and fine-tuning read it back.
The team may link a turn's question to the entry that answers it (`qa feedback link`): fine-tuning
learns from those links, with the entry the bot wrongly answered with as a negative.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.types import Reply

RECORDS_FILE = "records.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    conversation_id TEXT,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    intent TEXT NOT NULL,
    confidence REAL NOT NULL,
    answered INTEGER NOT NULL,
    sources TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    first_token_ms REAL
);
CREATE INDEX IF NOT EXISTS turns_time ON turns(time);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    turn_id INTEGER NOT NULL REFERENCES turns(id),
    time REAL NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    sources TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    turn_id INTEGER PRIMARY KEY REFERENCES turns(id),
    time REAL NOT NULL,
    question TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    wrong_entry_id TEXT
);
"""


@dataclass(frozen=True)
class TurnRecord:
    """One recorded turn, as read back."""

    id: int
    time: float
    conversation_id: str | None
    channel: str
    question: str
    answer: str
    intent: str
    confidence: float
    answered: bool
    sources: tuple[dict, ...]
    latency_ms: float
    first_token_ms: float | None


@dataclass(frozen=True)
class Link:
    """A recorded question linked to the entry that answers it; `wrong_entry_id`: the entry the bot answered with."""

    turn_id: int
    question: str
    entry_id: str
    wrong_entry_id: str | None = None
    time: float = 0.0


class Records:
    """Appends turns and feedback to a SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @classmethod
    def in_folder(cls, data_dir: Path) -> Records:
        return cls(data_dir / RECORDS_FILE)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=10)
            try:
                with db:
                    yield db
            finally:
                db.close()

    def add_turn(
        self,
        question: str,
        reply: Reply,
        latency_ms: float,
        conversation_id: str | None = None,
        channel: str = "web",
        first_token_ms: float | None = None,
    ) -> int:
        """Record one turn; returns its id (for feedback)."""
        sources = json.dumps([asdict(source) for source in reply.sources], ensure_ascii=False)
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO turns (time, conversation_id, channel, question, answer, intent, confidence, answered,"
                " sources, latency_ms, first_token_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    conversation_id,
                    channel,
                    question,
                    reply.answer,
                    reply.intent,
                    float(reply.confidence),
                    int(reply.answered),
                    sources,
                    float(latency_ms),
                    first_token_ms,
                ),
            )
            return int(cursor.lastrowid)

    def add_feedback(self, turn_id: int, rating: str) -> None:
        """Store a thumbs up or down with a copy of the turn's question, answer and sources."""
        if rating not in ("up", "down"):
            raise ValueError(f"a rating is 'up' or 'down', not {rating!r}")
        with self._connect() as db:
            row = db.execute("SELECT question, answer, sources FROM turns WHERE id = ?", (turn_id,)).fetchone()
            if row is None:
                raise KeyError(f"no turn with id {turn_id}")
            db.execute(
                "INSERT INTO feedback (turn_id, time, rating, question, answer, sources) VALUES (?, ?, ?, ?, ?, ?)",
                (turn_id, time.time(), rating, *row),
            )

    def turns(self, since: float | None = None) -> list[TurnRecord]:
        """Recorded turns, oldest first (those after `since`, a Unix time, when given)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, time, conversation_id, channel, question, answer, intent, confidence, answered, sources,"
                " latency_ms, first_token_ms FROM turns WHERE time >= ? ORDER BY time, id",
                (since or 0.0,),
            ).fetchall()
        return [
            TurnRecord(*row[:8], bool(row[8]), tuple(json.loads(row[9])), row[10], row[11])  # type: ignore[arg-type]
            for row in rows
        ]

    def feedback_counts(self) -> dict[str, int]:
        """How many thumbs up and down were given."""
        with self._connect() as db:
            rows = dict(db.execute("SELECT rating, COUNT(*) FROM feedback GROUP BY rating").fetchall())
        return {"up": rows.get("up", 0), "down": rows.get("down", 0)}

    def feedback(self, rating: str | None = None) -> list[dict]:
        """The stored feedback (question, answer, sources, rating, time), newest first."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT turn_id, time, rating, question, answer, sources FROM feedback"
                " WHERE ? IS NULL OR rating = ? ORDER BY time DESC",
                (rating, rating),
            ).fetchall()
        return [{**dict(row), "sources": json.loads(row["sources"])} for row in rows]

    def link(self, turn_id: int, entry_id: str) -> Link:
        """Link turn `turn_id`'s question to `entry_id` (replacing an earlier link of that turn)."""
        if not entry_id.strip():
            raise ValueError("an entry id must not be empty")
        with self._connect() as db:
            row = db.execute("SELECT question, answered, sources FROM turns WHERE id = ?", (turn_id,)).fetchone()
            if row is None:
                raise KeyError(f"no recorded turn with id {turn_id}")
            question, answered, sources = row[0], row[1], json.loads(row[2])
            answered_with = sources[0]["id"] if answered and sources else None
            link = Link(turn_id, question, entry_id, answered_with if answered_with != entry_id else None, time.time())
            db.execute(
                "INSERT OR REPLACE INTO links (turn_id, time, question, entry_id, wrong_entry_id) VALUES (?, ?, ?, ?, ?)",
                (link.turn_id, link.time, link.question, link.entry_id, link.wrong_entry_id),
            )
        return link

    def links(self) -> list[Link]:
        """Every link, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT turn_id, question, entry_id, wrong_entry_id, time FROM links ORDER BY time, turn_id").fetchall()
        return [Link(*row) for row in rows]
