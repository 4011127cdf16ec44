"""Build and start the web app: chat, knowledge base admin, insights, and the named API.

`serve` loads the knowledge base when it changed, loads the models, and listens on
GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (Gradio's own variables; default 127.0.0.1:7860).
"""

from __future__ import annotations

import itertools
import logging
import os

import gradio as gr

from qa.admin import KnowledgeAdmin
from qa.config import PROJECT_ROOT, Settings, load_settings
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.records import Records
from qa.store import StoreError
from qa.ui.admin import AdminTab
from qa.ui.api import register_api
from qa.ui.auth import AdminGuard
from qa.ui.chat import ChatTab
from qa.ui.insights import InsightsTab
from qa.ui.turns import RecordedChat

SPACE_CONFIG = PROJECT_ROOT / "configs" / "space.yaml"
SUGGESTED = 4
TITLE = "Support chat"


def app_settings() -> Settings:
    """The settings of the app: $QA_CONFIG, else configs/space.yaml on a Hugging Face Space, else the default."""
    on_space = bool(os.environ.get("SPACE_ID")) and not os.environ.get("QA_CONFIG")
    return load_settings(SPACE_CONFIG if on_space else None)


def ready_pipeline(settings: Settings) -> ChatPipeline:
    """A pipeline whose knowledge base is loaded and whose models are in memory."""
    pipeline = ChatPipeline(settings)
    with tqdm_progress() as progress:
        report = pipeline.sync_knowledge_base(progress)
    if report is not None:
        print(report.summary(), flush=True)
    pipeline.check_ready()
    return pipeline


def suggested_questions(pipeline: ChatPipeline) -> list[str]:
    """The configured suggestions, else the first questions of the knowledge base."""
    configured = pipeline.settings.app.suggested_questions
    if configured:
        return list(configured)
    records = pipeline.store.records(where={"kind": "question"})
    return [record.document for record in itertools.islice(records, SUGGESTED)]


def build_app(pipeline: ChatPipeline, records: Records, guard: AdminGuard) -> gr.Blocks:
    """The Blocks app over a ready pipeline."""
    chat = RecordedChat(pipeline, records)
    admin = KnowledgeAdmin(pipeline)
    insights = InsightsTab(pipeline, records, guard)
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"## {TITLE}\nAnswers come from the knowledge base, with their sources.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat", elem_id="chat-tab"):
                ChatTab(chat, pipeline.settings, suggested_questions(pipeline)).build()
            with gr.Tab("Knowledge base", id="admin", elem_id="admin-tab"):
                AdminTab(admin, guard).build()
            with gr.Tab("Insights", id="insights", elem_id="insights-tab"):
                insights.build()
        register_api(chat, admin, insights, guard)
    return app


def inference_threads(concurrency_limit: int) -> int:
    """Torch threads for the turns answered at once to share the cores: with more, they fight for them
    (re-ranking 20 candidates took 530 ms instead of 60 ms on 2 busy cores, README)."""
    return max(1, (os.cpu_count() or 1) // concurrency_limit)


def serve(settings: Settings) -> None:
    """Load everything, then serve until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if "OMP_NUM_THREADS" not in os.environ:  # the user's own choice wins
        import torch

        torch.set_num_threads(inference_threads(settings.app.concurrency_limit))
    pipeline = ready_pipeline(settings)
    app = build_app(pipeline, Records.in_folder(settings.data_dir), AdminGuard.from_env())
    app.queue(default_concurrency_limit=settings.app.concurrency_limit, max_size=settings.app.queue_max_size)
    app.launch(max_file_size=f"{settings.app.max_upload_mb}mb", show_error=True)


def main() -> None:
    """The entry point of app.py and `qa serve`."""
    try:
        serve(app_settings())
    except StoreError as error:  # a damaged or busy index: say what to do, no traceback
        raise SystemExit(f"error: {error}") from None
