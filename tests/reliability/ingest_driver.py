"""Run by test_faults.py in a fresh process: report the knowledge base as this process finds it, then
load a folder into it, optionally killing itself with SIGKILL at a named point of the write.

Prints JSON lines: {"event": "start", "snapshot": ...}, {"event": "ingesting"}, then (when not
killed) {"event": "done", "snapshot": ..., "seconds": ..., "collections": [...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from chromadb.api.models.Collection import Collection
from kb_probe import snapshot

from qa.config import load_settings
from qa.pipeline import ChatPipeline
from qa.store import GenerationWriter, KnowledgeStore

KILL_POINTS = ("embedding", "adding", "publishing", "switched", "deleted-old")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def install_kill_point(point: str, pipeline: ChatPipeline) -> None:
    """Patch the write path so that this process dies at `point`."""
    if point == "embedding":  # while new chunks are embedded, before anything is written
        pipeline.embedder.run = lambda *args, **kwargs: die()
    elif point == "adding":  # half-way through filling the next generation
        calls = []
        add = GenerationWriter.add

        def add_then_die(self: GenerationWriter, collection: Collection, records: list) -> None:
            calls.append(len(records))
            if len(calls) == 2:
                add(self, collection, records[: len(records) // 2])
                die()
            add(self, collection, records)

        GenerationWriter.add = add_then_die
    elif point == "publishing":  # the next generation is complete, the registry not yet switched
        KnowledgeStore._publish = lambda self, collection: die()
    elif point == "switched":  # the registry names the new generation, the old one still exists
        _after(Collection, "modify", lambda collection: collection.name.endswith("-registry"))
    elif point == "deleted-old":  # the old generation is gone, the lock not yet released
        publish = KnowledgeStore._publish

        def publish_then_die(self: KnowledgeStore, collection: Collection) -> None:
            publish(self, collection)
            die()

        KnowledgeStore._publish = publish_then_die
    elif point != "none":
        raise SystemExit(f"unknown kill point {point!r} (known: {', '.join(KILL_POINTS)}, none)")


def _after(cls: type, method: str, when: Callable[[Any], bool]) -> None:
    original = getattr(cls, method)

    def run_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if when(self):
            die()
        return result

    setattr(cls, method, run_then_die)


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--kb", required=True)
    parser.add_argument("--kill-at", default="none")
    args = parser.parse_args()
    pipeline = ChatPipeline(load_settings(args.config))
    pipeline.check_ready()
    emit("start", snapshot=snapshot(pipeline))
    install_kill_point(args.kill_at, pipeline)
    emit("ingesting")
    started = time.perf_counter()
    pipeline.indexer.ingest([args.kb])
    seconds = time.perf_counter() - started
    names = [c if isinstance(c, str) else c.name for c in pipeline.store.client.list_collections()]
    collections = sorted(name for name in names if name.startswith(f"{pipeline.store.name}-"))
    emit("done", snapshot=snapshot(pipeline), seconds=seconds, collections=collections)


if __name__ == "__main__":
    main()
