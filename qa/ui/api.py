"""The named API endpoints for `gradio_client`: ask, and the admin and insights operations.

Admin and insights endpoints take the admin password as their first argument and check it on
the server on every call (see qa/ui/auth.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from qa.admin import KnowledgeAdmin
from qa.ui.auth import AdminGuard
from qa.ui.insights import InsightsTab
from qa.ui.turns import RecordedChat


def register_api(chat: RecordedChat, admin: KnowledgeAdmin, insights: InsightsTab, guard: AdminGuard) -> None:
    """Add the endpoints to the Blocks being built."""

    def ask(question: str, conversation_id: str | None = None, generate: bool | None = None) -> dict[str, Any]:
        """Answer one question (the JSON of `qa ask --json`); pass a conversation id to continue a conversation,
        generate=True/False to turn the generative reader on or off for this question (default: the config)."""
        return chat.ask(question, conversation_id or None, "api", generate).to_json()

    def stream(question: str, conversation_id: str | None = None, generate: bool | None = None) -> Iterator[dict[str, Any]]:
        """The reply as it is written (the JSON of /ask each time); the last one is complete."""
        shown = None
        for step in chat.stream(question, conversation_id or None, "api", generate):
            if step.reply is not shown:
                shown = step.reply
                yield shown.to_json()

    def kb_sources(password: str | None = None) -> dict[str, int]:
        """The sources of the knowledge base and their vector counts."""
        guard.check_read(password)
        return admin.sources()

    def kb_entries(password: str | None = None, search: str = "") -> list[dict[str, Any]]:
        """The entries (and document passages) whose id, question, answer or source contains `search`."""
        guard.check_read(password)
        needle = search.casefold()
        rows = admin.entries()
        return [
            row.__dict__
            for row in rows
            if not needle or needle in f"{row.id}\n{row.question}\n{row.answer}\n{row.source}".casefold()
        ]

    def kb_export(password: str | None = None) -> str:
        """The FAQ entries as YAML that `qa ingest` loads again."""
        guard.check_read(password)
        return admin.export_yaml()

    def kb_delete(password: str | None = None, source: str = "") -> str:
        """Remove a source from the knowledge base."""
        guard.check_change(password)
        return admin.delete_source(source).summary()

    def insights_report(password: str | None = None) -> dict[str, Any]:
        """Answer rate, latency, feedback and the clustered unanswered questions."""
        guard.check_read(password)
        return insights.compute().to_json()

    for function, name in (
        (ask, "ask"),
        (stream, "stream"),
        (kb_sources, "kb_sources"),
        (kb_entries, "kb_entries"),
        (kb_export, "kb_export"),
        (kb_delete, "kb_delete"),
        (insights_report, "insights"),
    ):
        gr.api(function, api_name=name, concurrency_id="admin" if name == "kb_delete" else None)
