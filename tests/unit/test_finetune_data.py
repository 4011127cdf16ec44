"""Fine-tuning data: held-out alternates, pairs, hard negatives, entry-aware batches, the active model file."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pytest

from qa.active_embedder import (
    ActiveEmbedder,
    apply_active_embedder,
    clear_active_embedder,
    configured_models,
    read_active_embedder,
    write_active_embedder,
)
from qa.config import ConfigError, Settings, load_settings
from qa.records import Link
from qa.training.bi_encoder import EntryBatchSampler, TrainingOptions, interpolate_weights
from qa.training.finetune_data import NegativeMiner, TrainingPair, entry_texts, hold_out_alternates, positive_pairs
from qa.types import Entry

ENTRIES = [
    Entry(
        "reset",
        "How do I reset my password?",
        "Use the link.",
        "faq.yaml",
        ("forgot password", "can't log in", "lost my password", "password reset"),
    ),
    Entry("price", "How much is Plus?", "How much is Plus?", "faq.yaml", ("plus cost", "price of plus")),
    Entry("lone", "Where is the office?", "In Paris.", "faq.yaml"),
]


def test_hold_out_keeps_an_alternate_per_entry_and_is_seeded() -> None:
    kept, queries = hold_out_alternates(ENTRIES, 0.5, seed=1)

    assert [len(e.alternate_questions) for e in kept] == [2, 1, 0]
    assert len(queries) == 3 and {q.expected for q in queries} == {("reset",), ("price",)}
    for entry, original in zip(kept, ENTRIES):
        held = {q.text for q in queries if q.expected == (entry.id,)}
        assert held.isdisjoint(entry.alternate_questions)
        assert held | set(entry.alternate_questions) == set(original.alternate_questions)
    assert hold_out_alternates(ENTRIES, 0.5, seed=1) == (kept, queries)


def test_hold_out_nothing_and_bad_shares() -> None:
    kept, queries = hold_out_alternates(ENTRIES, 0.0)
    assert kept == ENTRIES and queries == []
    with pytest.raises(ValueError, match="share"):
        hold_out_alternates(ENTRIES, 1.0)


def test_entry_texts_are_what_the_index_embeds() -> None:
    assert entry_texts(ENTRIES[2]) == ["Where is the office?", "Where is the office?\nIn Paris."]
    assert entry_texts(ENTRIES[1]) == ["How much is Plus?", "plus cost", "price of plus"]  # answer = question


def test_positive_pairs_stay_within_their_entry() -> None:
    links = [Link(7, "pw gone??", "reset", wrong_entry_id="price"), Link(8, "unknown entry", "gone")]

    pairs = positive_pairs(ENTRIES, links, rounds=2, rng=random.Random(0))

    by_id = {e.id: e for e in ENTRIES}
    for pair in pairs:
        assert pair.anchor != pair.positive
        assert pair.positive in entry_texts(by_id[pair.entry_id]) + [by_id[pair.entry_id].answer]
    anchors = [p.anchor for p in pairs]
    assert anchors.count("forgot password") == 2 and anchors.count("pw gone??") == 2
    assert "unknown entry" not in anchors  # a link to an entry that is gone is skipped
    assert [p.positive for p in pairs if p.anchor == "How do I reset my password?"] == ["Use the link."] * 2
    assert next(p for p in pairs if p.anchor == "pw gone??").negative_entry_id == "price"


def test_max_pairs_samples_the_knowledge_base_and_keeps_every_linked_question() -> None:
    links = [Link(7, "pw gone??", "reset")]

    pairs = positive_pairs(ENTRIES, links, rounds=3, rng=random.Random(0), max_pairs=5)

    assert len(pairs) == 5
    assert [p.anchor for p in pairs].count("pw gone??") == 3


def fake_embed(texts: list[str]) -> np.ndarray:
    """Texts about passwords point one way, prices another, the office a third."""

    def vector(text: str) -> np.ndarray:
        lower = text.lower()
        v = np.asarray(
            [
                ("pass" in lower or "log" in lower) * 1.0,
                ("plus" in lower or "pric" in lower) * 1.0,
                ("office" in lower) * 1.0,
                0.1,
            ]
        )
        return v / np.linalg.norm(v)

    return np.stack([vector(t) for t in texts]).astype(np.float32)


def test_hard_negatives_come_from_other_entries_and_keep_thumbs_down_entries() -> None:
    pairs = [
        TrainingPair("forgot password", "can't log in", "reset"),
        TrainingPair("pw?", "How do I reset my password?", "reset", negative_entry_id="lone"),
    ]

    mined = NegativeMiner(ENTRIES, fake_embed).with_negatives(pairs, random.Random(0))

    assert all(p.negative is not None and p.negative_entry_id != "reset" for p in mined)
    assert mined[1].negative_entry_id == "lone" and mined[1].negative in entry_texts(ENTRIES[2])
    assert mined[0].entries == frozenset({"reset", mined[0].negative_entry_id})


class Rows(list):
    """A stand-in for a datasets.Dataset (only its length is read)."""


def test_batches_never_mix_pairs_of_one_entry_while_they_can() -> None:
    groups = [frozenset({f"e{i % 6}"}) for i in range(30)]  # 6 entries, 5 rows each

    sampler = EntryBatchSampler(Rows(groups), batch_size=4, drop_last=False, groups=groups, seed=3)
    batches = list(sampler)

    assert sorted(i for batch in batches for i in batch) == list(range(30))
    assert len(batches) == len(sampler) == 8
    clean = [batch for batch in batches if len({groups[i] for i in batch}) == len(batch)]
    assert len(clean) >= 6  # only the last batches may have to mix
    sampler.set_epoch(1)
    assert list(sampler) != batches  # reshuffled each epoch


def test_training_options_are_checked() -> None:
    with pytest.raises(ValueError):
        TrainingOptions(batch_size=1)
    with pytest.raises(ValueError):
        TrainingOptions(learning_rate=0)
    for share in (0, 1.5):
        with pytest.raises(ValueError, match="share of the trained weights"):
            TrainingOptions(tuned_share=share)


def test_interpolated_weights_mix_trained_and_starting_ones() -> None:
    import torch

    model = torch.nn.BatchNorm1d(2)  # floating-point weights and an integer buffer (num_batches_tracked)
    start = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    with torch.no_grad():
        model.weight.fill_(3.0)
        model.bias.fill_(-2.0)
        model.num_batches_tracked.fill_(7)

    interpolate_weights(model, start, 0.6)

    assert torch.allclose(model.weight, torch.full((2,), 0.4 * 1.0 + 0.6 * 3.0))
    assert torch.allclose(model.bias, torch.full((2,), 0.6 * -2.0))
    assert int(model.num_batches_tracked) == 7  # not a weight: kept as trained
    trained = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    interpolate_weights(model, start, 1.0)
    assert all(torch.equal(trained[name], tensor) for name, tensor in model.state_dict().items())


def test_active_embedder_replaces_only_the_model_it_came_from(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert apply_active_embedder(settings) is settings  # no file

    write_active_embedder(tmp_path, ActiveEmbedder("models/finetuned-1", settings.embedder.model))
    assert apply_active_embedder(settings).embedder.model == str(tmp_path / "models" / "finetuned-1")
    assert load_settings(data_dir=tmp_path).embedder.model == str(tmp_path / "models" / "finetuned-1")

    other = settings.replace(embedder=type(settings.embedder)(model="some/other-model"))
    assert apply_active_embedder(other).embedder.model == "some/other-model"  # the config names another model: it wins

    assert clear_active_embedder(tmp_path) == ActiveEmbedder("models/finetuned-1", settings.embedder.model)
    assert read_active_embedder(tmp_path) is None


def test_a_reranker_trained_with_the_bi_encoder_goes_with_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    base_reranker = settings.reranker.model
    active = ActiveEmbedder("models/ft-1", settings.embedder.model, "models/ft-1/reranker", base_reranker)
    write_active_embedder(tmp_path, active)

    applied = apply_active_embedder(settings)
    assert applied.reranker.model == str(tmp_path / "models" / "ft-1" / "reranker")
    assert configured_models(applied) == (settings.embedder.model, base_reranker)  # what a new run starts from
    other_reranker = settings.replace(reranker=dataclasses.replace(settings.reranker, model="my/reranker"))
    assert apply_active_embedder(other_reranker).reranker.model == "my/reranker"  # the config names another one
    assert apply_active_embedder(other_reranker).embedder.model == str(tmp_path / "models" / "ft-1")
    other_embedder = settings.replace(embedder=dataclasses.replace(settings.embedder, model="my/embedder"))
    assert apply_active_embedder(other_embedder).reranker.model == base_reranker  # never without its bi-encoder
    assert read_active_embedder(tmp_path) == active


def test_a_damaged_active_embedder_file_is_a_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / "active_embedder.json").write_text("{not json")
    with pytest.raises(ConfigError, match="active_embedder.json.*delete it"):
        load_settings(data_dir=tmp_path)
    (tmp_path / "active_embedder.json").write_text(
        '{"model": "models/ft-1", "base": "b", "reranker": "models/ft-1/reranker"}'
    )
    with pytest.raises(ConfigError, match="'reranker' and 'reranker_base' must both be strings"):
        load_settings(data_dir=tmp_path)
