"""`qa train-reranker` hands exactly the options given to the trainer's `train_reranker`."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from qa.cli import TRAIN_OPTIONS, main
from qa.training import reranker as training


def test_every_option_is_a_parameter_of_the_trainer() -> None:
    assert TRAIN_OPTIONS <= set(inspect.signature(training.train_reranker).parameters)


def test_only_the_given_options_are_passed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    monkeypatch.setattr(training, "train_reranker", lambda *args, **options: calls.append((args, options)) or {})
    code = main(["train-reranker", "--output", str(tmp_path / "model"), "--datasets", "banking77",
                 "--data-dir", str(tmp_path), "--epochs", "0.5", "--layers", "2", "--eval-split", "val", "--device", "cuda"])
    assert code == 0
    (output, data_dir, datasets), options = calls[0]
    assert (output, data_dir, datasets) == (tmp_path / "model", str(tmp_path), ["banking77"])
    assert options == {"epochs": 0.5, "layers": 2, "eval_split": "val", "device": "cuda"}
