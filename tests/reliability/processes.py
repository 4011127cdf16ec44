"""Running the project in fresh processes (the command line, a driver, the web app) from the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import yaml

from qa.config import DEFAULT_CONFIG, PROJECT_ROOT

HERE = Path(__file__).resolve().parent
APP_START_TIMEOUT_S = 300  # a hang guard: the app loads its models first


def child_env() -> dict[str, str]:
    """The environment of a fresh process: offline, no telemetry, this folder importable."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }


def qa_command(*args: str) -> list[str]:
    """The `qa` command line run with this interpreter."""
    return [sys.executable, "-m", "qa.cli", *args]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(config: dict[str, Any], root: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`python app.py` with `config` (over the default config) on a free port; yields its URL once it answers."""
    config_path = root / "app-config.yaml"
    config_path.write_text(yaml.safe_dump({**yaml.safe_load(DEFAULT_CONFIG.read_text()), **config}), encoding="utf-8")
    port = free_port()
    environment = {**child_env(), "QA_CONFIG": str(config_path), "GRADIO_SERVER_PORT": str(port), **(env or {})}
    environment |= {"GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_NAME": "127.0.0.1"}
    environment.pop("QA_DATA_DIR", None)
    log = root / "app.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        process.kill()  # nothing when it has ended


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + APP_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not answer within {APP_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
