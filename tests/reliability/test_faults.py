"""Faults: `qa ingest` killed with SIGKILL, restart in a new process, a second writer, a damaged or missing index.

Every check of the knowledge base after a fault runs in a fresh process (Chroma caches its clients
per process), through `ingest_driver.py` or the `qa` command line.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kb_probe import snapshot, write_kb
from processes import HERE, child_env, qa_command, running_app

from qa.config import Settings
from qa.pipeline import ChatPipeline
from qa.store import KnowledgeStore, Record

pytestmark = pytest.mark.integration

DRIVER = HERE / "ingest_driver.py"
PROCESS_TIMEOUT = 300  # a hang guard, not a timing check
DIMENSION = 384
embedded_only = pytest.mark.skipif(
    bool(os.environ.get("QA_CHROMA_SERVER")), reason="damages the files of an embedded Chroma folder"
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings without intent routing: the probes are FAQ questions, and each of the
    many fresh processes starts sooner without embedding the intents' examples."""
    return settings.replace(dialogue=replace(settings.dialogue, routing=False))


@dataclass(frozen=True)
class DriverRun:
    """What one driver process reported, and how it ended."""

    events: dict[str, dict[str, Any]]
    returncode: int
    stderr: str

    @property
    def start(self) -> dict[str, Any]:
        return self.events["start"]["snapshot"]

    @property
    def killed(self) -> bool:
        return self.returncode == -9 and "done" not in self.events


def run_driver(config: Path, kb: Path, kill_at: str = "none", kill_after: float | None = None) -> DriverRun:
    """Run the driver in a fresh process; `kill_after` seconds after it starts writing, SIGKILL it."""
    stderr_path = config.parent / "driver.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(DRIVER), "--config", str(config), "--kb", str(kb), "--kill-at", kill_at],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=child_env(),
        )
        events = {}
        for line in process.stdout:
            if line.startswith("{"):
                event = json.loads(line)
                events[event["event"]] = event
                if event["event"] == "ingesting" and kill_after is not None:
                    time.sleep(kill_after)
                    process.kill()
        process.wait(timeout=PROCESS_TIMEOUT)
    return DriverRun(events, process.returncode, stderr_path.read_text())


@pytest.fixture
def kbs(tmp_path: Path) -> dict[str, Path]:
    """Versions A and B of the knowledge base, in folders of the same name (same source ids)."""
    return {version: write_kb(tmp_path / version / "kb", version) for version in "AB"}


@pytest.fixture
def references(
    settings: Settings, kbs: dict[str, Path], make_pipeline: Callable[[Settings], ChatPipeline], tmp_path: Path
) -> dict[str, dict[str, Any]]:
    """The snapshot of each version, loaded cleanly into a store of its own by this process."""
    result = {}
    for version, folder in kbs.items():
        store = replace(settings.store, collection=f"{settings.store.collection}r{version}")
        pipeline = make_pipeline(settings.replace(data_dir=tmp_path / f"reference-{version}", store=store))
        pipeline.indexer.ingest([str(folder)])
        result[version] = json.loads(json.dumps(snapshot(pipeline)))  # as the driver's JSON has it
    assert result["A"] != result["B"] and result["A"]["answers"] != result["B"]["answers"]
    return result


def test_sigkill_during_ingest_leaves_a_whole_knowledge_base(
    config_file: Path, kbs: dict[str, Path], references: dict[str, dict[str, Any]], settings: Settings
) -> None:
    """Kill `ingest` at each point of the write, and at random times: a fresh process always finds
    one whole version (the previous one before the switch, the new one after it), never a mix,
    and the next ingest completes."""
    seed = int(os.environ.get("QA_FAULT_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    note = f"(QA_FAULT_SEED={seed})"

    first = run_driver(config_file, kbs["A"])
    assert first.returncode == 0, first.stderr
    assert first.start["count"] == 0
    assert first.events["done"]["snapshot"] == references["A"]
    duration = first.events["done"]["seconds"]

    live = {"A"}  # the versions the store may hold now
    plan = [
        ("B", "embedding", None),
        ("B", "adding", None),
        ("B", "publishing", None),
        ("B", "switched", None),
        ("A", "deleted-old", None),
        ("B", "none", rng.uniform(0, 1.5 * duration)),
        ("A", "none", rng.uniform(0, 1.5 * duration)),
    ]
    for version, point, delay in plan:
        run = run_driver(config_file, kbs[version], point, delay)
        found = [v for v in live if run.start == references[v]]
        assert found, f"before loading {version} (kill at {point}, {delay}) the store held no whole version {note}"
        if delay is None:
            assert run.killed, f"the driver did not die at {point}: {run.returncode} {run.stderr[-2000:]}"
        switched = point in ("switched", "deleted-old") or "done" in run.events
        live = {version} if switched else set(found) | ({version} if delay is not None else set())

    last = "B" if live == {"A"} else "A"
    final = run_driver(config_file, kbs[last])
    assert final.returncode == 0, final.stderr
    assert any(final.start == references[v] for v in live), note
    assert final.events["done"]["snapshot"] == references[last]
    name = settings.store.collection
    collections = final.events["done"]["collections"]
    assert f"{name}-registry" in collections and len(collections) == 2, f"orphan generations left: {collections}"


def test_restart_in_a_new_process_keeps_everything(
    config_file: Path, kbs: dict[str, Path], settings: Settings, make_pipeline: Callable[[Settings], ChatPipeline]
) -> None:
    pipeline = make_pipeline(settings)
    pipeline.indexer.ingest([str(kbs["B"])])
    before = json.loads(json.dumps(snapshot(pipeline)))
    after = run_driver(config_file, kbs["B"])  # B again: nothing to write
    assert after.returncode == 0, after.stderr
    assert after.start == before  # count, ids, documents, metadata, answers
    assert after.events["done"]["snapshot"] == before


def test_a_second_writer_fails_fast_with_a_clear_message(
    config_file: Path, kbs: dict[str, Path], settings: Settings, make_pipeline: Callable[[Settings], ChatPipeline]
) -> None:
    pipeline = make_pipeline(settings)
    with pipeline.store.writer():
        second = subprocess.run(
            qa_command("--config", str(config_file), "ingest", str(kbs["A"])),
            check=False,
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=PROCESS_TIMEOUT,
        )
    assert second.returncode == 2
    assert f"is being written by process {os.getpid()}" in second.stderr
    assert "try again when it has finished" in second.stderr
    pipeline.indexer.ingest([str(kbs["A"])])  # the lock was released
    assert pipeline.store.count() > 0


def fill_store(settings: Settings, count: int) -> None:
    """An index of `count` random unit vectors: more than Chroma keeps in memory before it writes its
    vector index files (1,000), so that those files exist to be damaged."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(count, DIMENSION)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = KnowledgeStore(settings)
    with store.writer() as writer:
        collection = writer.create(settings.embedder.model, DIMENSION)
        metadata = {"source": "kb/faq.yaml", "kind": "question"}
        records = [Record(f"v{i}", f"q {i}", {**metadata, "entry_id": f"e{i}"}, v) for i, v in enumerate(vectors)]
        writer.add(collection, records)
        writer.publish(collection)


def damage_folder(chroma: Path, how: str) -> None:
    segments = [path for path in chroma.iterdir() if path.is_dir()]
    assert segments or how in ("garbage database", "folder deleted")
    if how == "garbage database":
        (chroma / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    elif how == "vector index deleted":
        for segment in segments:
            shutil.rmtree(segment)
    elif how == "vector index truncated":
        for segment in segments:
            (segment / "header.bin").write_bytes(b"")
    elif how == "folder deleted":
        shutil.rmtree(chroma)


@embedded_only
@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("garbage database", "is damaged (error returned from database"),
        ("vector index deleted", "is damaged"),
        ("vector index truncated", "is damaged"),
        ("folder deleted", "is missing"),
    ],
)
def test_a_damaged_or_missing_index_is_detected_at_start(
    how: str, says: str, config_file: Path, settings: Settings
) -> None:
    fill_store(settings, 1500)
    damage_folder(settings.data_dir / "chroma", how)
    stats = subprocess.run(
        qa_command("--config", str(config_file), "kb", "stats"),
        check=False,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=PROCESS_TIMEOUT,
    )
    assert stats.returncode == 2, stats.stdout
    assert says in stats.stderr and "load the knowledge base again with `qa ingest PATH`" in stats.stderr
    assert "Traceback" not in stats.stderr


@embedded_only
def test_the_app_does_not_start_on_a_damaged_index(settings: Settings, tmp_path: Path) -> None:
    fill_store(settings, 1500)
    damage_folder(settings.data_dir / "chroma", "vector index truncated")
    kb = write_kb(tmp_path / "kb", "A")
    with (
        pytest.raises(RuntimeError, match="exited") as stopped,
        running_app({"data_dir": str(settings.data_dir), "knowledge_base": str(kb)}, tmp_path),
    ):
        pass
    assert "error: the knowledge base index at" in str(stopped.value) and "is damaged" in str(stopped.value)
    assert "Traceback" not in str(stopped.value)
