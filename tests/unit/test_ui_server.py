"""How the web app uses the machine."""

from __future__ import annotations

import os

import pytest

from qa.ui.server import inference_threads


def test_the_cores_are_shared_among_the_turns_answered_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert (inference_threads(2), inference_threads(3), inference_threads(16)) == (4, 2, 1)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert inference_threads(2) == 1
