"""Fixtures of the reliability tests: a config file that points fresh processes at the test's store."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qa.config import Settings


@pytest.fixture
def config_file(settings: Settings, tmp_path: Path) -> Path:
    """A config with the test's data folder and store, for `qa` or a driver run in a fresh process."""
    store = settings.store
    config = {
        "data_dir": str(settings.data_dir),
        "knowledge_base": None,
        "store": {"mode": store.mode, "host": store.host, "port": store.port, "collection": store.collection},
        "dialogue": {"routing": settings.dialogue.routing},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
