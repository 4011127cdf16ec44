"""Start the web app: load the knowledge base when it changed, load the models, serve."""

from __future__ import annotations

from qa.config import Settings
from qa.pipeline import ChatPipeline
from qa.progress import tqdm_progress
from qa.ui.chat import build_app


def ready_pipeline(settings: Settings) -> ChatPipeline:
    """A pipeline whose knowledge base is loaded and whose models are in memory."""
    pipeline = ChatPipeline(settings)
    with tqdm_progress() as progress:
        report = pipeline.sync_knowledge_base(progress)
    if report is not None:
        print(report.summary(), flush=True)
    pipeline.check_ready()
    return pipeline


def serve(settings: Settings) -> None:
    """Serve the app on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (default 127.0.0.1:7860)."""
    app = build_app(ready_pipeline(settings))
    app.queue(default_concurrency_limit=2).launch()
