"""The chat tab: streamed answers with sources and a confidence badge, suggestions, feedback.

The conversation lives on the server (a `gr.State` per browser session): its id goes to the
pipeline and its messages are never read back from the browser.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import gradio as gr

from qa.config import Settings
from qa.ui.render import Message, reply_messages
from qa.ui.turns import RecordedChat

HANDOFF_MESSAGE = "I would like to talk to a human."
PRIVATE = "private"  # UI events are not API endpoints; the API has its own (qa/ui/api.py)


@dataclass
class ChatSession:
    """One browser session's conversation."""

    conversation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    messages: list[Message] = field(default_factory=list)
    turn_of_message: dict[int, int] = field(default_factory=dict)


Outputs = tuple[str, list[Message], ChatSession]


class ChatTab:
    """Builds the chat tab and answers its events."""

    def __init__(self, chat: RecordedChat, settings: Settings, suggested: list[str]) -> None:
        self.chat = chat
        self.threshold = settings.threshold
        self.margin = settings.app.low_confidence_margin
        self.suggested = suggested
        self.generate_default = settings.generation.enabled

    def respond(self, message: str, session: ChatSession | None, generate: bool = False) -> Iterator[Outputs]:
        """Stream the reply to `message` into the conversation."""
        session = session or ChatSession()
        if not message or not message.strip():
            yield "", session.messages, session
            return
        session.messages.append({"role": "user", "content": message})
        yield "", [*session.messages, {"role": "assistant", "content": "…"}], session
        for step in self.chat.stream(message, session.conversation_id, "web", generate):
            shown = reply_messages(step.reply, self.threshold, self.margin, pending=not step.done)
            if step.done:
                start = len(session.messages)
                session.messages.extend(shown)
                for index in range(start, len(session.messages)):
                    session.turn_of_message[index] = step.turn_id
                yield "", session.messages, session
            else:
                yield "", [*session.messages, *shown], session

    def pick(self, session: ChatSession | None, generate: bool, event: gr.SelectData) -> Iterator[Outputs]:
        """Send the option or suggested question the user clicked."""
        value = event.value
        yield from self.respond(value.get("text", "") if isinstance(value, dict) else str(value), session, generate)

    def handoff(self, session: ChatSession | None, generate: bool) -> Iterator[Outputs]:
        yield from self.respond(HANDOFF_MESSAGE, session, generate)

    def feedback(self, session: ChatSession | None, event: gr.LikeData) -> None:
        """Store a thumbs up or down for the turn of the message the user judged."""
        if session is None:
            return
        index = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        turn_id = session.turn_of_message.get(int(index))
        if turn_id is None or event.liked not in (True, False):
            return
        self.chat.records.add_feedback(turn_id, "up" if event.liked else "down")
        gr.Info("Thanks for your feedback!")

    @staticmethod
    def restart() -> tuple[list[Message], ChatSession]:
        return [], ChatSession()

    def build(self) -> None:
        """The chat's components and events (inside a Blocks context)."""
        session = gr.State(None)  # a ChatSession, created at the first message
        chatbot = gr.Chatbot(
            label="Support chat",
            height=520,
            sanitize_html=True,
            examples=[{"text": question} for question in self.suggested],
            placeholder="Ask a question about the product.",
            buttons=["copy_all"],
            elem_id="chatbot",
        )
        with gr.Row():
            message = gr.Textbox(
                show_label=False, placeholder="Type your question and press Enter", scale=5, autofocus=True,
                max_lines=4, elem_id="message",
            )
            send = gr.Button("Send", variant="primary", scale=1, min_width=80)
        with gr.Row():
            generate = gr.Checkbox(
                label="Write the answer with the language model (slower)",
                value=self.generate_default,
                visible=self.chat.can_generate,
            )
            human = gr.Button("Talk to a human", size="sm")
            new = gr.Button("New conversation", size="sm")
        outputs = [message, chatbot, session]
        events = {"outputs": outputs, "api_visibility": PRIVATE}
        gr.on([message.submit, send.click], self.respond, [message, session, generate], **events)
        chatbot.example_select(self.pick, [session, generate], **events)
        chatbot.option_select(self.pick, [session, generate], **events)
        human.click(self.handoff, [session, generate], **events)
        chatbot.like(self.feedback, [session], None, api_visibility=PRIVATE)
        gr.on([new.click, chatbot.clear], self.restart, None, [chatbot, session], api_visibility=PRIVATE)
