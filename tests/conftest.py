"""Shared fixtures: settings in a temporary data folder, the packaged bi-encoder loaded once.

`pytest --chroma-server HOST:PORT` runs the store-dependent tests (those that use the `settings`
fixture) against that Chroma server instead of an embedded Chroma folder, each test in collections of
its own; the other tests are deselected (they do not depend on the store).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.config import DEFAULT_CONFIG, PROJECT_ROOT, Settings, load_settings
from qa.embedder import Embedder
from qa.pipeline import ChatPipeline

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
DEMO_KB = PROJECT_ROOT / "knowledge_base"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chroma-server",
        metavar="HOST:PORT",
        help="run the store-dependent tests against this Chroma server (sets QA_CHROMA_SERVER)",
    )


def pytest_configure(config: pytest.Config) -> None:
    server = config.getoption("--chroma-server")
    if server:
        os.environ["QA_CHROMA_SERVER"] = server
        wait_for_chroma_server(server)


def wait_for_chroma_server(server: str, timeout_s: float = 60) -> None:
    """Wait until the Chroma server answers its heartbeat (it may have just been started)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://{server}/api/v2/heartbeat", timeout=5):
                return
        except OSError as error:
            if time.monotonic() > deadline:
                raise pytest.UsageError(f"no Chroma server answers at {server}: {error}") from error
            time.sleep(0.2)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--chroma-server"):
        return
    kept = [item for item in items if "settings" in getattr(item, "fixturenames", ())]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


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
def settings(base_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Default settings with the index in a fresh temporary folder (on a Chroma server: fresh collections)."""
    fresh = base_settings.replace(data_dir=tmp_path / "data")
    if fresh.store.mode != "http":
        yield fresh
        return
    store = dataclasses.replace(fresh.store, collection=f"t{uuid.uuid4().hex[:12]}")
    yield fresh.replace(store=store)
    drop_server_collections(store.host, store.port, store.collection)


def drop_server_collections(host: str, port: int, prefix: str) -> None:
    """Delete a test's collections from the Chroma server."""
    import chromadb

    client = chromadb.HttpClient(host=host, port=port)
    for collection in client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        if name.startswith(prefix):
            client.delete_collection(name)


@pytest.fixture
def make_pipeline(embedder: Embedder) -> Callable[[Settings], ChatPipeline]:
    """Build a pipeline that shares the session's embedder."""

    def make(settings: Settings) -> ChatPipeline:
        return ChatPipeline(settings, embedder=embedder)

    return make


@pytest.fixture(scope="session")
def browser():
    """One for the whole run (Playwright's sync API allows one at a time): Debian's's chromium, headless, driven by Playwright; the tests skip when it is not installed."""
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def config_file(settings: Settings, tmp_path: Path) -> Path:
    """The default config with the test's data folder, store and routing, for `qa` or a driver run in a
    fresh process (which then answers as the test's own pipelines do: same models, re-ranker, thresholds)."""
    store = settings.store
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config.update(
        data_dir=str(settings.data_dir),
        knowledge_base=None,
        store={"mode": store.mode, "host": store.host, "port": store.port, "collection": store.collection},
        dialogue={**config.get("dialogue", {}), "routing": settings.dialogue.routing},
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path
