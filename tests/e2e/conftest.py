"""The running app for end-to-end tests: started once in a subprocess, with a small knowledge base.

The app runs as a Space would (`python app.py`) on a free port of 127.0.0.1, with a temporary data
folder, an admin password, and the default config otherwise.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from qa.config import DEFAULT_CONFIG, PROJECT_ROOT

PASSWORD = "e2e-admin-secret"
START_TIMEOUT_S = 240
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"

SMALL_FAQ = {
    "entries": [
        {
            "id": "reset-password",
            "question": "How do I reset my password?",
            "answer": "Choose 'Forgot password?' on the sign-in page; the reset link is valid for 60 minutes.",
            "alternate_questions": ["I forgot my password"],
            "url": "https://help.example.com/reset-password",
        },
        {
            "id": "plus-price",
            "question": "How much does the Plus plan cost?",
            "answer": "Plus costs $4.99 per month, or $47.88 per year when billed annually.",
        },
        {
            "id": "offline",
            "question": "Can I use the app offline?",
            "answer": "Yes: the desktop apps keep every note available offline.",
        },
        {
            "id": "delete-account",
            "question": "How do I delete my account?",
            "answer": "Go to Settings > Account > Delete account; your notes are erased after 30 days.",
        },
        {
            "id": "contact-support",
            "question": "How can I contact support?",
            "answer": "Write to support@example.com; we answer within one working day.",
        },
    ]
}


@dataclass(frozen=True)
class RunningApp:
    """The app under test."""

    url: str
    data_dir: Path
    log: Path
    password: str = PASSWORD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll the app's page until it answers; fail with the end of its log if it dies or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with status {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the app was not ready after {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The real app in a subprocess, ready to serve."""
    root = tmp_path_factory.mktemp("e2e-app")
    kb = root / "kb"
    kb.mkdir()
    (kb / "faq.yaml").write_text(yaml.safe_dump(SMALL_FAQ, sort_keys=False), encoding="utf-8")
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config.update(data_dir=str(root / "data"), knowledge_base=str(kb))
    config.setdefault("app", {})["suggested_questions"] = ["How much does the Plus plan cost?"]
    config_path = root / "config.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "QA_CONFIG": str(config_path),
        "QA_ADMIN_PASSWORD": PASSWORD,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    env.pop("GRADIO_SERVER_NAME", None)
    env.pop("QA_DATA_DIR", None)
    log = root / "app.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_ready(url, process, log)
        yield RunningApp(url, root / "data", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def client(app: RunningApp):
    """A gradio_client connected to the app."""
    from gradio_client import Client

    return Client(app.url, verbose=False)


def save_screenshot(page, name: str) -> None:
    """A full-page screenshot in artifacts/screenshots/ (kept by CI)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def shot() -> Callable[..., None]:
    """Save a screenshot of a page under a name."""
    return save_screenshot


@pytest.fixture
def page(browser, app: RunningApp, request: pytest.FixtureRequest):
    """A fresh browser page on the app; a screenshot of it is saved when the test ends."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app.url)
    page.wait_for_selector("#message textarea")
    yield page
    save_screenshot(page, f"{request.node.name}-end")
    context.close()
