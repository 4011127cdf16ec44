"""What a Hugging Face Space needs: README front matter, requirements.txt, configs/space.yaml, /data."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import gradio
import pytest
import yaml

from qa.config import PROJECT_ROOT, load_settings
from qa.ui.server import SPACE_CONFIG, app_settings


def front_matter() -> dict:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md starts with a front matter block"
    return yaml.safe_load(match.group(1))


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~ \[]", line.strip(), maxsplit=1)[0].lower() for line in requirements}


def test_readme_front_matter_describes_the_space() -> None:
    meta = front_matter()

    assert {"title", "sdk", "sdk_version", "app_file", "python_version", "license"} <= set(meta)
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == gradio.__version__
    assert (PROJECT_ROOT / meta["app_file"]).is_file()
    assert str(meta["python_version"]).startswith("3.")


def test_requirements_hold_the_package_dependencies() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = [
        line
        for line in (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    assert names(pyproject["project"]["dependencies"]) <= names(lines)
    assert "torch" in names(lines)


def test_space_config_uses_hub_models() -> None:
    settings = load_settings(SPACE_CONFIG)

    assert settings.embedder.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert settings.reranker.enabled and settings.reranker.model.count("/") == 1
    assert not Path(settings.reranker.model).is_absolute()


def test_a_space_reads_its_own_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_CONFIG", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/faq-bot")
    assert app_settings().embedder.model == "sentence-transformers/all-MiniLM-L6-v2"
    monkeypatch.delenv("SPACE_ID")
    assert app_settings().embedder.model == load_settings().embedder.model


def test_a_space_keeps_its_data_in_persistent_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("QA_DATA_DIR", raising=False)
    monkeypatch.setattr("qa.config.SPACE_STORAGE", tmp_path)
    monkeypatch.setenv("SPACE_ID", "someone/faq-bot")
    assert load_settings().data_dir == tmp_path
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "elsewhere"))
    assert load_settings().data_dir == tmp_path / "elsewhere"
    monkeypatch.delenv("QA_DATA_DIR")
    monkeypatch.delenv("SPACE_ID")
    assert load_settings().data_dir != tmp_path  # not on a Space: the config's data_dir
