"""Running the project in fresh processes from the reliability tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


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
