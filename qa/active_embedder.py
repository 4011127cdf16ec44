"""The fine-tuned models a data folder uses: `<data_dir>/active_embedder.json`, written by `qa finetune`.

The file names the fine-tuned bi-encoder (a folder under the data folder) and the model it was
trained from, and, after `qa finetune --reranker`, the re-ranker trained with it and the re-ranker
that one came from. It applies only while the config's `embedder.model` still names that base
model: the fine-tuned model replaces the model it came from, and a config that names another model
wins. The re-ranker goes with its bi-encoder (it learnt from that model's candidates), again only in
place of the re-ranker it came from. `qa finetune --revert` removes the file and re-indexes with
the config's model.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.config import Settings

ACTIVE_EMBEDDER_FILE = "active_embedder.json"


@dataclass(frozen=True)
class ActiveEmbedder:
    """A fine-tuned bi-encoder (its folder relative to the data folder) and the model reference it was
    trained from; optionally the re-ranker trained with it (a folder too) and the re-ranker it came from."""

    model: str
    base: str
    reranker: str | None = None
    reranker_base: str | None = None

    def path(self, data_dir: Path) -> Path:
        return data_dir / self.model

    def reranker_path(self, data_dir: Path) -> Path | None:
        return data_dir / self.reranker if self.reranker else None


def read_active_embedder(data_dir: Path) -> ActiveEmbedder | None:
    """The data folder's fine-tuned models, None when there are none; ValueError when the file is unusable."""
    path = data_dir / ACTIVE_EMBEDDER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read it ({error}); delete it to use the config's embedder.model") from error
    if not isinstance(data, dict) or not all(isinstance(data.get(key), str) for key in ("model", "base")):
        raise ValueError(f"{path}: needs the strings 'model' and 'base'; delete it to use the config's embedder.model")
    reranker = [data.get(key) for key in ("reranker", "reranker_base")]
    if reranker != [None, None] and not all(isinstance(value, str) for value in reranker):
        raise ValueError(
            f"{path}: 'reranker' and 'reranker_base' must both be strings or both absent; "
            "delete it to use the config's models"
        )
    return ActiveEmbedder(data["model"], data["base"], *reranker)


def write_active_embedder(data_dir: Path, active: ActiveEmbedder) -> None:
    """Record `active` in the data folder (replaced in one step)."""
    path = data_dir / ACTIVE_EMBEDDER_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(dataclasses.asdict(active), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def clear_active_embedder(data_dir: Path) -> ActiveEmbedder | None:
    """Remove the record; returns what it said."""
    active = read_active_embedder(data_dir)
    (data_dir / ACTIVE_EMBEDDER_FILE).unlink(missing_ok=True)
    return active


def apply_active_embedder(settings: Settings) -> Settings:
    """`settings` with the fine-tuned models of its data folder, where they replace the configured ones."""
    active = read_active_embedder(settings.data_dir)
    if active is None or active.base != settings.embedder.model:
        return settings
    model = str(active.path(settings.data_dir))
    settings = settings.replace(embedder=dataclasses.replace(settings.embedder, model=model))
    if active.reranker and active.reranker_base == settings.reranker.model:
        reranker = str(active.reranker_path(settings.data_dir))
        settings = settings.replace(reranker=dataclasses.replace(settings.reranker, model=reranker))
    return settings


def configured_models(settings: Settings) -> tuple[str, str]:
    """The bi-encoder and re-ranker the config names, where the data folder's fine-tuned ones replaced them."""
    active = read_active_embedder(settings.data_dir)
    embedder, reranker = settings.embedder.model, settings.reranker.model
    if active is None or embedder != str(active.path(settings.data_dir)):
        return embedder, reranker
    if active.reranker_base and reranker == str(active.reranker_path(settings.data_dir)):
        reranker = active.reranker_base
    return active.base, reranker
