"""The writer lock kept in Chroma (what excludes writers on other machines in server mode).

The lock's logic runs against the test's store: an embedded Chroma folder, or the Chroma server
under `pytest --chroma-server`, where the cross-machine test runs too.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.config import Settings
from qa.pipeline import ChatPipeline
from qa.server_lock import ServerLock, ServerLockBusy
from qa.store import KnowledgeStore, StoreBusyError

pytestmark = pytest.mark.integration


@pytest.fixture
def store(settings: Settings) -> KnowledgeStore:
    return KnowledgeStore(settings)


def plant_lock(store: KnowledgeStore, host: str, pid: int, expires_in: float) -> None:
    """A lock collection as another writer would have left it."""
    metadata = {"holder": f"process {pid} on {host}", "host": host, "pid": pid, "expires": time.time() + expires_in}
    store.client.create_collection(f"{store.name}-writelock", metadata=metadata, embedding_function=None)


def gone_pid() -> int:
    """The id of a process of this host that has ended."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], check=False, capture_output=True, text=True
    )
    return int(process.stdout)


def test_a_live_holder_keeps_the_lock_and_is_named(store: KnowledgeStore) -> None:
    first = ServerLock(store.client, store.name)
    first.acquire()
    try:
        with pytest.raises(ServerLockBusy, match=f"process {os.getpid()} on {socket.gethostname()}"):
            ServerLock(store.client, store.name).acquire()
    finally:
        first.release()
    second = ServerLock(store.client, store.name)
    second.acquire()  # released: free again
    second.release()


@pytest.mark.parametrize(
    ("host", "expires_in", "stale"),
    [
        ("other-machine", 600, False),  # a live lease on another machine
        ("other-machine", -1, True),  # its lease ran out: the writer died without releasing
        (socket.gethostname(), 600, True),  # this host's holder process is gone (killed)
    ],
)
def test_stale_locks_are_taken_over_live_ones_are_not(
    store: KnowledgeStore, host: str, expires_in: float, stale: bool
) -> None:
    pid = gone_pid() if host == socket.gethostname() else 4242
    plant_lock(store, host, pid, expires_in)
    lock = ServerLock(store.client, store.name)
    if stale:
        lock.acquire()
        assert lock.still_held()
        lock.release()
    else:
        with pytest.raises(ServerLockBusy, match=f"process 4242 on {host}"):
            lock.acquire()


def test_the_lease_is_renewed_while_the_writer_runs(store: KnowledgeStore) -> None:
    lock = ServerLock(store.client, store.name, lease_seconds=0.6)
    lock.acquire()
    try:
        first = store.client.get_collection(lock.name).metadata["expires"]
        deadline = time.monotonic() + 60  # a hang guard: renewals come every 0.2 s
        while store.client.get_collection(lock.name).metadata["expires"] == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.client.get_collection(lock.name).metadata["expires"] > first
    finally:
        lock.release()
    assert not lock.still_held()


@pytest.mark.skipif(not os.environ.get("QA_CHROMA_SERVER"), reason="needs a Chroma server (pytest --chroma-server)")
def test_writers_on_two_machines_exclude_each_other(
    settings: Settings, make_pipeline: Callable[[Settings], ChatPipeline], tmp_path: Path
) -> None:
    """Two data folders stand for two machines: they share no lock file, only the server."""
    here = make_pipeline(settings)
    there = make_pipeline(settings.replace(data_dir=tmp_path / "other-machine"))
    with (
        here.store.writer(),
        pytest.raises(StoreBusyError, match=f"on {here.store.location} is being written by process {os.getpid()}"),
        there.store.writer(),
    ):
        pass
    with there.store.writer():  # released
        pass


@pytest.mark.skipif(not os.environ.get("QA_CHROMA_SERVER"), reason="needs a Chroma server (pytest --chroma-server)")
def test_a_writer_that_lost_its_lock_publishes_nothing(settings: Settings, store: KnowledgeStore) -> None:
    with store.writer() as writer:
        collection = writer.create("some-model", 4)
        store.client.delete_collection(f"{store.name}-writelock")  # taken over by another machine
        plant_lock(store, "other-machine", 4242, 600)
        with pytest.raises(StoreBusyError, match="took over the write lock"):
            writer.publish(collection)
        writer.discard(collection)
    assert store.live() is None
