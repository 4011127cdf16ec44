"""Two versions of a small knowledge base, probe questions, and a comparable snapshot of a store.

Shared by the fault tests and the driver they run in fresh processes (`ingest_driver.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from qa.pipeline import ChatPipeline

ENTRIES = {
    "reset-password": ("How do I reset my password?", "Choose Forgot password on the sign-in page."),
    "refund": ("Can I get a refund?", "Yes, within 30 days of purchase."),
    "shipping": ("How long does shipping take?", "Three to five working days."),
    "opening-hours": ("When is support open?", "Monday to Friday, nine to five."),
    "delete-account": ("How do I delete my account?", "Settings, then Account, then Delete."),
    "export": ("Can I export my notes?", "Yes, as Markdown or PDF from the File menu."),
    "offline": ("Does the app work offline?", "Yes, notes sync when you are back online."),
    "price": ("How much does the Plus plan cost?", "Plus costs 4 euros a month."),
}
# Version B edits three answers, removes one entry and adds two.
EDITED = {
    "refund": "Yes, within 14 days of purchase.",
    "shipping": "Two working days.",
    "price": "Plus costs 5 euros a month.",
}
REMOVED = "offline"
ADDED = {
    "languages": ("Which languages does the app support?", "English, French and German."),
    "family-plan": ("Is there a family plan?", "Yes, for up to five people."),
}
DOCUMENT = (
    "# Guide\n\n## Install\nThe installer needs 200 MB of disk space.\n\n"
    "## Update\nUpdates install at restart.\n"
)
PROBES = ("can I get my money back?", "how long is delivery?", "how much is Plus?", "disk space for the installer")


def write_kb(folder: Path, version: str) -> Path:
    """Write version "A" or "B" of the knowledge base into `folder` (replacing what is there)."""
    entries = dict(ENTRIES)
    if version == "B":
        entries = {key: (question, EDITED.get(key, answer)) for key, (question, answer) in entries.items()}
        del entries[REMOVED]
        entries.update(ADDED)
    folder.mkdir(parents=True, exist_ok=True)
    faq = [{"id": key, "question": question, "answer": answer} for key, (question, answer) in entries.items()]
    (folder / "faq.yaml").write_text(yaml.safe_dump({"entries": faq}, sort_keys=False), encoding="utf-8")
    (folder / "guide.md").write_text(DOCUMENT, encoding="utf-8")
    return folder


def snapshot(pipeline: ChatPipeline) -> dict[str, Any]:
    """Everything a user could observe: count, ids, documents, metadata, and the answers to the probes."""
    records = {record.id: [record.document, record.metadata] for record in pipeline.store.records()}
    answers = {}
    for probe in PROBES:
        reply = pipeline.ask(probe)
        answers[probe] = [reply.answer, [source.id for source in reply.sources]]
    return {"count": pipeline.store.count(), "records": records, "answers": answers}
