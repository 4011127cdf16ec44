"""The knowledge base tab: check and load files, browse entries, delete a source, re-index, export."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from qa.admin import UPLOADS, KnowledgeAdmin, Upload, Validation
from qa.ingest.errors import KnowledgeBaseError
from qa.ingest.sources import SUPPORTED_SUFFIXES
from qa.progress import Progress
from qa.store import StoreError
from qa.ui.auth import AdminGuard
from qa.ui.render import escape

ENTRY_COLUMNS = ["id", "question", "source", "kind"]
WRITES = {"concurrency_id": "kb_write", "concurrency_limit": 1, "api_visibility": "private"}


@contextmanager
def user_errors() -> Iterator[None]:
    """Errors of the knowledge base shown to the user as they are (they say what to do)."""
    try:
        yield
    except (KnowledgeBaseError, StoreError, ValueError) as error:
        raise gr.Error(str(error)) from error


def gradio_progress(progress: gr.Progress) -> Progress:
    """The indexer's progress callback drawn as Gradio's progress bar."""

    def report(stage: str, done: int, total: int) -> None:
        progress((done, max(total, 1)), desc=stage)

    return report


def validation_markdown(validation: Validation) -> str:
    """The report of a check: what was found, every problem with its line, near duplicates."""
    names = ", ".join(f"`{source}`" for source in validation.sources)
    if not validation.ok:
        lines = [f"**✗ {len(validation.problems)} problem(s)** in {names}; nothing was loaded:", ""]
        lines += [f"- {escape(str(problem))}" for problem in validation.problems]
        return "\n".join(lines)
    lines = [f"**✓ Ready to load** {names}: {validation.entries} FAQ entries, {validation.documents} document(s)."]
    if validation.duplicates:
        lines += ["", f"**{len(validation.duplicates)} near-duplicate pair(s)** (loading is still allowed):", ""]
        lines += [
            f"- {escape(pair.question)} (`{pair.source}`) ≈ {escape(pair.other_question)} (`{pair.other_source}`), "
            f"similarity {pair.similarity:.2f}"
            for pair in validation.duplicates
        ]
    return "\n".join(lines)


def uploads_of(files: list[str] | None) -> list[Upload]:
    """The files Gradio received, under the names they were uploaded with."""
    return [Upload(Path(path), Path(path).name) for path in files or []]


class AdminTab:
    """Builds the knowledge base tab and answers its events (each checks the password)."""

    def __init__(self, admin: KnowledgeAdmin, guard: AdminGuard) -> None:
        self.admin = admin
        self.guard = guard

    def check(self, files: list[str] | None, password: str | None) -> tuple[str, Any]:
        """Validate uploaded files; the load button is enabled when they are fine."""
        if not files:
            return "", gr.update(interactive=False)
        self.guard.check_read(password)
        validation = self.admin.validate(uploads_of(files))
        return validation_markdown(validation), gr.update(interactive=validation.ok)

    def ingest(self, files: list[str] | None, password: str | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        """Load the uploaded files into the index with a progress bar."""
        self.guard.check_change(password)
        with user_errors():
            report = self.admin.ingest(uploads_of(files), gradio_progress(progress))
        return (f"**Loaded.** {report.summary()}", gr.update(interactive=False), *self.browse(password))

    def delete(self, source: str | None, password: str | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        self.guard.check_change(password)
        if not source:
            raise gr.Error("Choose a source to delete.")
        with user_errors():
            report = self.admin.delete_source(source, gradio_progress(progress))
        note = "" if source.startswith(f"{UPLOADS}/") else " Files of the configured knowledge base folder come back when they change or the app restarts."
        return (f"**Deleted** `{source}`. {report.summary()}.{note}", *self.browse(password))

    def rebuild(self, password: str | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        self.guard.check_change(password)
        with user_errors():
            report = self.admin.rebuild(gradio_progress(progress))
        return (f"**Re-indexed.** {report.summary()}", *self.browse(password))

    def browse(self, password: str | None) -> tuple[pd.DataFrame, Any]:
        """The entries table and the choice of sources."""
        self.guard.check_read(password)
        rows = self.admin.entries()
        table = pd.DataFrame([[row.id, row.question, row.source, row.kind] for row in rows], columns=ENTRY_COLUMNS)
        sources = sorted(self.admin.sources())
        return table, gr.update(choices=sources, value=None)

    def export(self, password: str | None) -> Any:
        """The FAQ entries as a YAML file to download."""
        self.guard.check_read(password)
        folder = Path(tempfile.mkdtemp(prefix="qa-export-"))
        path = folder / "knowledge_base.yaml"
        path.write_text(self.admin.export_yaml(), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    def build(self) -> gr.Button:
        """The tab's components and events (inside a Blocks context); returns the refresh button."""
        gr.Markdown(self.guard.notice())
        password = self.guard.password_box()
        with gr.Accordion("Add FAQ files and documents", open=True):
            files = gr.File(
                label=f"FAQ files (YAML, JSON, CSV, Markdown) and documents (Markdown, text, HTML, PDF); "
                f"at most {self.admin.settings.max_upload_mb} MB each. They are checked first.",
                file_count="multiple",
                file_types=sorted(SUPPORTED_SUFFIXES),
                elem_id="upload",
            )
            report = gr.Markdown(elem_id="validation")
            load = gr.Button("Load into the knowledge base", variant="primary", interactive=False, elem_id="load")
        with gr.Row():
            refresh = gr.Button("Show entries", elem_id="refresh-entries")
            rebuild = gr.Button("Re-index everything")
            export = gr.Button("Export as YAML")
        download = gr.File(label="Export", interactive=False, visible=False, elem_id="export")
        table = gr.Dataframe(
            headers=ENTRY_COLUMNS, label="Entries", interactive=False, wrap=True, show_search="search", max_height=500,
            elem_id="entries",
        )
        with gr.Row():
            source = gr.Dropdown(label="Source", choices=[], scale=3)
            delete = gr.Button("Delete this source", variant="stop", scale=1)
        status = gr.Markdown(elem_id="admin-status")

        private = {"api_visibility": "private"}
        files.change(self.check, [files, password], [report, load], **private)
        load.click(self.ingest, [files, password], [report, load, table, source], **WRITES)
        delete.click(self.delete, [source, password], [status, table, source], **WRITES)
        rebuild.click(self.rebuild, [password], [status, table, source], **WRITES)
        refresh.click(self.browse, [password], [table, source], **private)
        export.click(self.export, [password], [download], **private)
        return refresh
