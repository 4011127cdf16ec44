"""Shared fixtures: settings in a temporary data folder, the packaged bi-encoder loaded once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.config import PROJECT_ROOT, Settings, load_settings  # noqa: E402
from qa.embedder import Embedder  # noqa: E402
from qa.pipeline import ChatPipeline  # noqa: E402

SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
DEMO_KB = PROJECT_ROOT / "knowledge_base"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The public data sets beside the project; tests that need them skip when absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"no shared data sets at {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """The default config, with the knowledge base folder left for each test to choose."""
    return load_settings().replace(knowledge_base=None)


@pytest.fixture(scope="session")
def embedder(base_settings: Settings) -> Embedder:
    """The packaged bi-encoder, loaded once for the whole session."""
    return Embedder(base_settings.embedder)


@pytest.fixture
def settings(base_settings: Settings, tmp_path: Path) -> Settings:
    """Default settings with the index in a fresh temporary folder."""
    return base_settings.replace(data_dir=tmp_path / "data")


@pytest.fixture
def make_pipeline(embedder: Embedder) -> Callable[[Settings], ChatPipeline]:
    """Build a pipeline that shares the session's embedder."""

    def make(settings: Settings) -> ChatPipeline:
        return ChatPipeline(settings, embedder=embedder)

    return make
