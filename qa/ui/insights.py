"""The insights tab: answer rate, latency, feedback over time, and the gaps in the FAQ."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from qa.insights import Insights, summarize
from qa.pipeline import ChatPipeline
from qa.records import Records
from qa.ui.auth import AdminGuard
from qa.ui.render import escape

GAP_COLUMNS = ["questions", "examples", "closest entry", "its score"]
FEEDBACK_COLUMNS = ["rating", "question", "answer", "sources"]
RECENT_FEEDBACK = 50


class InsightsTab:
    """Computes the insights from the records and shows them."""

    def __init__(self, pipeline: ChatPipeline, records: Records, guard: AdminGuard) -> None:
        self.pipeline = pipeline
        self.records = records
        self.guard = guard

    def compute(self) -> Insights:
        settings = self.pipeline.settings
        low = settings.threshold + settings.app.low_confidence_margin
        return summarize(self.records.turns(), self.records.feedback_counts(), self.pipeline.embedder, low)

    def refresh(self, password: str | None) -> tuple[Any, ...]:
        """Everything the tab shows, after checking the password."""
        self.guard.check_read(password)
        insights = self.compute()
        series = pd.DataFrame(list(insights.series), columns=["time", "turns", "answer_rate", "p50_ms", "p90_ms"])
        latency = series.melt(id_vars="time", value_vars=["p50_ms", "p90_ms"], var_name="percentile", value_name="ms")
        gaps = pd.DataFrame(
            [
                [gap.count, " · ".join(gap.examples), gap.closest or "", gap.closest_score]
                for gap in insights.gaps
            ],
            columns=GAP_COLUMNS,
        )
        feedback = pd.DataFrame(
            [
                [item["rating"], item["question"], item["answer"], ", ".join(s["question"] for s in item["sources"])]
                for item in self.records.feedback()[:RECENT_FEEDBACK]
            ],
            columns=FEEDBACK_COLUMNS,
        )
        return summary_markdown(insights), gaps, series, latency, feedback

    def build(self) -> None:
        """The tab's components and events (inside a Blocks context)."""
        gr.Markdown(self.guard.notice())
        password = self.guard.password_box()
        refresh = gr.Button("Refresh", variant="primary")
        summary = gr.Markdown(elem_id="insights-summary")
        gaps = gr.Dataframe(
            headers=GAP_COLUMNS, label="Unanswered and low-confidence questions, grouped by meaning",
            interactive=False, wrap=True, elem_id="insights-gaps",
        )
        with gr.Row():
            rate = gr.LinePlot(x="time", y="answer_rate", title="Answer rate", y_lim=[0, 1], height=260)
            latency = gr.LinePlot(x="time", y="ms", color="percentile", title="Latency (ms)", height=260)
        feedback = gr.Dataframe(
            headers=FEEDBACK_COLUMNS, label="Recent feedback", interactive=False, wrap=True, max_height=400
        )
        refresh.click(self.refresh, password, [summary, gaps, rate, latency, feedback], api_visibility="private")


def summary_markdown(insights: Insights) -> str:
    """The headline figures."""
    if not insights.turns:
        return "No conversations yet."
    latency = insights.latency_ms
    first = insights.first_token_ms
    intents = ", ".join(f"{escape(name)} {count}" for name, count in insights.intents.items())
    return "\n".join(
        [
            (
                f"**{insights.turns}** turns · answered **{insights.answer_rate:.0%}** · "
                f"low confidence **{insights.low_confidence}** · "
                f"feedback: **{insights.feedback['up']}** up, **{insights.feedback['down']}** down"
            ),
            "",
            f"Latency p50 {latency['p50']:.0f} ms · p90 {latency['p90']:.0f} ms · p99 {latency['p99']:.0f} ms"
            + (f" · first token p50 {first['p50']:.0f} ms" if first else ""),
            "",
            f"Intents: {intents}",
        ]
    )
