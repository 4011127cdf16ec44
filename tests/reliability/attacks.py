"""Knowledge-base entries that try to run script in the chat, and the questions that bring them up."""

from __future__ import annotations

from pathlib import Path

import yaml

ATTACKS = [
    {
        "id": "xss-script",
        "question": "What does the script tag do?",
        "answer": 'Before <script>window.__pwned = "script"</script> after.',
    },
    {
        "id": "xss-image",
        "question": "Show me the broken image",
        "answer": 'An image <img src="x" onerror="window.__pwned = \'img\'"> here.',
    },
    {
        "id": "xss-link",
        "question": "Where is the magic link?",
        "answer": "Click [here](javascript:window.__pwned='md') or "
        "<a href=\"javascript:window.__pwned='a'\">there</a>.",
        "url": "javascript:window.__pwned='url'",
    },
    {
        "id": "xss-iframe",
        "question": "Can you embed a frame?",
        "answer": "Framed: <iframe src=\"javascript:parent.__pwned='iframe'\"></iframe>"
        "<iframe srcdoc=\"<script>parent.__pwned='srcdoc'</script>\"></iframe>",
    },
    {
        "id": "xss-svg",
        "question": "Draw an svg picture",
        "answer": "<svg onload=\"window.__pwned='svg'\"><a href=\"javascript:window.__pwned='svg-a'\">x</a></svg>"
        "<details open ontoggle=\"window.__pwned='details'\">d</details>",
    },
]
QUESTIONS = [attack["question"] for attack in ATTACKS]


def write_attacks(folder: Path) -> Path:
    """The hostile FAQ file in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "attacks.yaml").write_text(yaml.safe_dump({"entries": ATTACKS}, sort_keys=False), encoding="utf-8")
    return folder
