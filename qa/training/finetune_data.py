"""Training data for fine-tuning the bi-encoder on a knowledge base: held-out alternates, pairs, hard negatives.

A pair's anchor is a question a user might type (an alternate question, an entry's question, or a
question the team linked to an entry from the feedback); its positive is another text of the same
entry (its question, another alternate, or question + answer as the index stores it; for the
entry's own question, its answer). Its hard negative is the most similar text of a wrong entry,
drawn among the closest few wrong entries as the current model sees them; a question that got a
thumbs-down keeps the entry it was wrongly answered with as its negative.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.evaluation.queries import EvalQuery
from qa.records import Link
from qa.types import Entry

Embed = Callable[[Sequence[str]], np.ndarray]
HARD_NEGATIVE_POOL = 3  # a negative is drawn from this many closest wrong entries


@dataclass(frozen=True)
class TrainingPair:
    """An anchor, a text of the same entry, and (optionally) a text of a wrong entry."""

    anchor: str
    positive: str
    entry_id: str
    negative: str | None = None
    negative_entry_id: str | None = None

    @property
    def entries(self) -> frozenset[str]:
        """The entries this pair speaks for (no other pair of a batch may share one)."""
        return frozenset(e for e in (self.entry_id, self.negative_entry_id) if e is not None)


def hold_out_alternates(entries: Sequence[Entry], share: float, seed: int = 13) -> tuple[list[Entry], list[EvalQuery]]:
    """The entries less a seeded `share` of their alternates, and those alternates as evaluation queries.

    An entry keeps at least one alternate; entries with fewer than two give none.
    """
    if not 0 <= share < 1:
        raise ValueError("the held-out share must be in [0, 1)")
    rng = random.Random(seed)
    kept_entries, queries = [], []
    for entry in entries:
        alternates = list(entry.alternate_questions)
        count = min(len(alternates) - 1, round(len(alternates) * share)) if len(alternates) > 1 and share else 0
        chosen = set(rng.sample(range(len(alternates)), count)) if count > 0 else set()
        kept_entries.append(
            replace(entry, alternate_questions=tuple(a for i, a in enumerate(alternates) if i not in chosen))
        )
        queries += [EvalQuery(alternates[i], (entry.id,)) for i in sorted(chosen)]
    return kept_entries, queries


def entry_texts(entry: Entry) -> list[str]:
    """The texts of an entry as the index embeds them (question, alternates, question + answer)."""
    texts = [entry.question, *entry.alternate_questions]
    if entry.answer.strip() and entry.answer.strip() != entry.question.strip():
        texts.append(f"{entry.question}\n{entry.answer}")
    return list(dict.fromkeys(texts))


def positive_pairs(
    entries: Sequence[Entry], links: Sequence[Link], rounds: int, rng: random.Random, max_pairs: int | None = None
) -> list[TrainingPair]:
    """`rounds` pairs per anchor, each with a positive drawn from the other texts of its entry.

    With `max_pairs`, a seeded sample of the knowledge base's pairs makes up the rest after every
    pair of the linked questions (the team's own, kept whole).
    """
    own = [pair for _ in range(rounds) for entry in entries for pair in _entry_pairs(entry, rng)]
    by_id = {entry.id: entry for entry in entries}
    linked = [
        TrainingPair(
            link.question,
            rng.choice(entry_texts(by_id[link.entry_id])),
            link.entry_id,
            negative_entry_id=link.wrong_entry_id,
        )
        for _ in range(rounds)
        for link in links
        if link.entry_id in by_id
    ]
    if max_pairs is not None and len(own) + len(linked) > max_pairs:
        own = rng.sample(own, max(0, max_pairs - len(linked)))
    return own + linked


def _entry_pairs(entry: Entry, rng: random.Random) -> list[TrainingPair]:
    """One pair per question of the entry: an alternate → another text of the entry, the question → its answer."""
    texts = entry_texts(entry)
    pairs = []
    for anchor in (entry.question, *entry.alternate_questions):
        others = [t for t in texts if t != anchor and not t.startswith(f"{anchor}\n")]
        if anchor == entry.question and entry.answer.strip() != entry.question.strip():
            others = [entry.answer]
        if others:
            pairs.append(TrainingPair(anchor, rng.choice(others), entry.id))
    return pairs


class NegativeMiner:
    """Finds, for any text, the closest texts of the wrong entries (exact search over the entries' texts)."""

    def __init__(self, entries: Sequence[Entry], embed: Embed) -> None:
        self.texts: list[str] = []
        owners: list[int] = []
        for number, entry in enumerate(entries):
            texts = entry_texts(entry)
            self.texts += texts
            owners += [number] * len(texts)
        self.entries = list(entries)
        self.index = {entry.id: number for number, entry in enumerate(entries)}
        self.owners = np.asarray(owners)
        self.embed = embed
        self.vectors = embed(self.texts)
        self._cache: dict[str, np.ndarray] = dict(zip(self.texts, self.vectors))

    def with_negatives(self, pairs: Sequence[TrainingPair], rng: random.Random) -> list[TrainingPair]:
        """The pairs, each with a hard negative (a thumbs-down pair keeps its wrong entry)."""
        if len(self.entries) < 2:
            return list(pairs)
        missing = [t for t in dict.fromkeys(p.anchor for p in pairs) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self.embed(missing)))
        return [self._with_negative(pair, rng) for pair in pairs]

    def _with_negative(self, pair: TrainingPair, rng: random.Random) -> TrainingPair:
        sims = self.vectors @ self._cache[pair.anchor]
        best = np.full(len(self.entries), -np.inf)
        np.maximum.at(best, self.owners, sims)
        best[self.index[pair.entry_id]] = -np.inf
        if pair.negative_entry_id in self.index and pair.negative_entry_id != pair.entry_id:
            wrong = self.index[pair.negative_entry_id]
        else:
            pool = np.argsort(-best, kind="stable")[: min(HARD_NEGATIVE_POOL, len(self.entries) - 1)]
            wrong = int(rng.choice(list(pool)))
        texts = np.flatnonzero(self.owners == wrong)
        text = self.texts[int(texts[np.argmax(sims[texts])])]
        return replace(pair, negative=text, negative_entry_id=self.entries[wrong].id)
