"""Intent data sets (CLINC150, BANKING77) as a knowledge base and labelled queries.

Each intent becomes one FAQ entry: its question is the intent name made readable
("card_arrival" → "card arrival"), its alternate questions are the intent's training
utterances, and its answer is the question. Queries are utterances labelled with their intent,
or with None for CLINC150's out-of-scope utterances (the bot should say it does not know).

Splits: "train" (the utterances the entries are built from, plus CLINC150's oos_train), "val"
(CLINC150's val and oos_val; for BANKING77 a fixed slice of its train file, held out of the
entries) and "test". Only the final figures may use "test".
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.types import Entry

DATASETS = ("banking77", "clinc150")
SPLITS = ("train", "val", "test")
BANKING77_VAL_FRACTION = 0.1
_SEED = 13

Utterance = tuple[str, str | None]  # text and intent (None: out of scope)


@dataclass(frozen=True)
class Query:
    """A user utterance and the entry id that answers it (None: out of scope)."""

    text: str
    intent: str | None


@dataclass(frozen=True)
class IntentDataset:
    """A knowledge base built from an intent set, and the queries of one split."""

    name: str
    split: str
    entries: tuple[Entry, ...]
    queries: tuple[Query, ...]

    @property
    def has_out_of_scope(self) -> bool:
        return any(query.intent is None for query in self.queries)


def humanise(intent: str) -> str:
    """The readable question of an intent: "card_arrival" → "card arrival"."""
    return " ".join(intent.replace("_", " ").replace("-", " ").split())


def build_entries(utterances: Iterable[Utterance], source: str) -> tuple[Entry, ...]:
    """One entry per intent, its training utterances as alternate questions (in first-seen order)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in utterances:
        if intent is not None:
            by_intent[intent].append(text)
    entries = []
    for intent, texts in by_intent.items():
        question = humanise(intent)
        alternates = tuple(t for t in dict.fromkeys(texts) if t.casefold() != question.casefold())
        entries.append(Entry(intent, question, question, source, alternate_questions=alternates))
    return tuple(entries)


def load_intent_dataset(name: str, data_dir: str | Path, split: str = "test") -> IntentDataset:
    """The entries (always from the training utterances) and the queries of `split`."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    splits = _load_clinc150(Path(data_dir)) if name == "clinc150" else _load_banking77(Path(data_dir))
    entries = build_entries(splits["train"], name)
    queries = tuple(Query(text, intent) for text, intent in splits[split])
    return IntentDataset(name, split, entries, queries)


def _load_clinc150(data_dir: Path) -> dict[str, list[Utterance]]:
    """CLINC150 "full": in-scope and out-of-scope utterances of each split."""
    data = json.loads((data_dir / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return {
        split: [(text, intent) for text, intent in data[split]] + [(text, None) for text, _ in data[f"oos_{split}"]]
        for split in SPLITS
    }


def _load_banking77(data_dir: Path) -> dict[str, list[Utterance]]:
    """BANKING77: its train file less a fixed per-intent slice (the val split), and its test file."""
    train = _read_banking77_csv(data_dir / "banking77" / "train.csv")
    val_rows = set(_val_slice(train, BANKING77_VAL_FRACTION))
    return {
        "train": [row for index, row in enumerate(train) if index not in val_rows],
        "val": [row for index, row in enumerate(train) if index in val_rows],
        "test": _read_banking77_csv(data_dir / "banking77" / "test.csv"),
    }


def _read_banking77_csv(path: Path) -> list[Utterance]:
    with path.open(encoding="utf-8", newline="") as file:
        return [(row["text"].strip(), row["category"].strip()) for row in csv.DictReader(file)]


def _val_slice(rows: list[Utterance], fraction: float) -> list[int]:
    """Indices of a seeded `fraction` of each intent's rows (at least one per intent)."""
    by_intent: dict[str | None, list[int]] = defaultdict(list)
    for index, (_, intent) in enumerate(rows):
        by_intent[intent].append(index)
    rng = random.Random(_SEED)
    chosen = []
    for intent in sorted(by_intent, key=str):
        indices = by_intent[intent]
        chosen.extend(rng.sample(indices, max(1, round(len(indices) * fraction))))
    return sorted(chosen)
