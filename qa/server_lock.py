"""A writer lock kept in the Chroma server itself, so that writers on different machines exclude each other.

The lock is a collection `<name>-writelock` that exists only while a writer runs: creating a
collection whose name exists fails on the server, which makes taking the lock atomic for every
client. Its metadata names the holder (host and process) and a lease that a background thread
renews; a lock whose lease ran out, or whose holder was a process of this host that no longer
exists (killed), is stale and is taken over.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

LEASE_SECONDS = 60.0


class ServerLockBusy(RuntimeError):
    """Another live writer holds the lock; the message names it."""


class ServerLock:
    """Exclusive write access to one knowledge base on a Chroma server."""

    def __init__(self, client: ClientAPI, name: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self.client = client
        self.name = f"{name}-writelock"
        self.lease_seconds = lease_seconds
        self.holder = f"process {os.getpid()} on {socket.gethostname()}"
        self._collection_id: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lock, taking over a stale one; ServerLockBusy when a live writer holds it."""
        if not self._create():
            current = self.client.get_collection(self.name, embedding_function=None)
            if not _is_stale(current.metadata or {}):
                raise ServerLockBusy((current.metadata or {}).get("holder", "another writer"))
            self.client.delete_collection(self.name)
            if not self._create():
                raise ServerLockBusy("another writer that took over the same stale lock")
        self._renewer = threading.Thread(target=self._renew, name="chroma-lock-lease", daemon=True)
        self._renewer.start()

    def still_held(self) -> bool:
        """Whether the lock is still ours (checked before a generation is published)."""
        try:
            return str(self.client.get_collection(self.name, embedding_function=None).id) == self._collection_id
        except Exception:  # noqa: BLE001 - a missing lock collection means we lost it
            return False

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.still_held():
            self.client.delete_collection(self.name)

    def _create(self) -> bool:
        try:
            collection = self.client.create_collection(self.name, metadata=self._metadata(), embedding_function=None)
        except Exception as error:  # chromadb raises a plain ChromaError when the name exists
            if "already exists" not in str(error):
                raise
            return False
        self._collection_id = str(collection.id)
        return True

    def _metadata(self) -> dict[str, str | float | int]:
        return {
            "holder": self.holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "expires": time.time() + self.lease_seconds,
        }

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            _quietly(self._extend)

    def _extend(self) -> None:
        collection = self.client.get_collection(self.name, embedding_function=None)
        if str(collection.id) == self._collection_id:
            collection.modify(metadata=self._metadata())


def _is_stale(metadata: dict) -> bool:
    """A lease that ran out, or a holder process of this host that is gone."""
    if float(metadata.get("expires", 0)) < time.time():
        return True
    if metadata.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(metadata.get("pid", 0)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _quietly(action: Callable[[], None]) -> None:
    """Renewing the lease is best effort: a server hiccup must not kill the writer."""
    with contextlib.suppress(Exception):
        action()
