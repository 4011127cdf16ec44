"""The fine-tuned bi-encoder a data folder uses: `<data_dir>/active_embedder.json`, written by `qa finetune`.

The file names the fine-tuned model (a folder under the data folder) and the model it was trained
from. It applies only while the config's `embedder.model` still names that base model: the
fine-tuned model replaces the model it came from, and a config that names another model wins.
`qa finetune --revert` removes the file and re-indexes with the config's model.
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
    """A fine-tuned model (its folder relative to the data folder) and the model reference it was trained from."""

    model: str
    base: str

    def path(self, data_dir: Path) -> Path:
        return data_dir / self.model


def read_active_embedder(data_dir: Path) -> ActiveEmbedder | None:
    """The data folder's fine-tuned bi-encoder, None when there is none; ValueError when the file is unusable."""
    path = data_dir / ACTIVE_EMBEDDER_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read it ({error}); delete it to use the config's embedder.model") from error
    if not isinstance(data, dict) or not all(isinstance(data.get(key), str) for key in ("model", "base")):
        raise ValueError(f"{path}: needs the strings 'model' and 'base'; delete it to use the config's embedder.model")
    return ActiveEmbedder(data["model"], data["base"])


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
    """`settings` with the fine-tuned bi-encoder of its data folder, when it replaces the configured model."""
    active = read_active_embedder(settings.data_dir)
    if active is None or active.base != settings.embedder.model:
        return settings
    model = str(active.path(settings.data_dir))
    return settings.replace(embedder=dataclasses.replace(settings.embedder, model=model))
