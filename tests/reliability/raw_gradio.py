"""Gradio's queue protocol spoken by hand, as a hostile client would: any event by its index (private
ones too, which gradio_client refuses to call), any payload, uploads, and raw paths.
"""

from __future__ import annotations

import http.client
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

API = "gradio_api"
TIMEOUT_S = 300  # a hang guard


class RawGradio:
    """One browser session of a running Gradio app, driven without its front end."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session_hash = uuid.uuid4().hex[:11]
        self.http = httpx.Client(timeout=TIMEOUT_S)
        config = self.http.get(f"{self.url}/config").json()
        self.fn_index = {dependency["api_name"]: dependency["id"] for dependency in config["dependencies"]}
        self.max_file_size = config.get("max_file_size")

    def call(self, event: str, *data: Any) -> dict[str, Any]:
        """Run the event named `event` (its function's name) with `data`; the `process_completed` message."""
        payload = {"data": list(data), "fn_index": self.fn_index[event], "session_hash": self.session_hash}
        joined = self.http.post(f"{self.url}/{API}/queue/join", json=payload)
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        session = {"session_hash": self.session_hash}
        with self.http.stream("GET", f"{self.url}/{API}/queue/data", params=session) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") == event_id and message.get("msg") == "process_completed":
                    return message
        raise AssertionError(f"the stream of event {event} ended without a result")

    def upload(self, path: Path) -> httpx.Response:
        """POST a file to Gradio's upload route."""
        with open(path, "rb") as handle:
            return self.http.post(f"{self.url}/{API}/upload", files={"files": (path.name, handle)})

    def get_raw(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        """GET `path` exactly as written (no normalising of `..` or of %-escapes on the way)."""
        parts = urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
        finally:
            connection.close()


def file_data(path: str, name: str) -> dict[str, Any]:
    """The payload of an uploaded file as the browser sends it to an event."""
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}
