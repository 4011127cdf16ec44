"""The chat page: a Gradio chatbot over the pipeline, and the `/ask` API endpoint."""

from __future__ import annotations

from typing import Any

import gradio as gr

from qa.pipeline import ChatPipeline
from qa.types import Reply


def format_reply(reply: Reply) -> str:
    """The reply as Markdown: the answer, then its sources with their scores."""
    if not reply.answered or not reply.sources:
        return reply.answer
    lines = [reply.answer, "", f"*Confidence {reply.confidence:.0%}. Sources:*"]
    for source in reply.sources:
        label = f"[{source.question}]({source.url})" if source.url else source.question
        lines.append(f"- {label} ({source.source}, {source.score:.2f})")
    return "\n".join(lines)


def build_app(pipeline: ChatPipeline) -> gr.Blocks:
    """The Blocks app with the chat and the named `/ask` endpoint."""

    def respond(message: str, history: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        reply = pipeline.ask(message)
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": format_reply(reply)}]
        return "", history

    def ask(question: str) -> dict[str, Any]:
        return pipeline.ask(question).to_json()

    with gr.Blocks(title="Support chat") as app:
        gr.Markdown("## Support chat\nAsk a question about the product.")
        chatbot = gr.Chatbot(label="Chat", height=480)
        message = gr.Textbox(label="Your question", placeholder="Type a question and press Enter", autofocus=True)
        message.submit(respond, [message, chatbot], [message, chatbot], api_name="chat")
        question = gr.Textbox(visible=False)
        answer = gr.JSON(visible=False)
        question.submit(ask, question, answer, api_name="ask")
    return app
