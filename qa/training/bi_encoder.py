"""Fine-tune a sentence-transformers bi-encoder on training pairs, sized for a CPU.

MultipleNegativesRankingLoss: each anchor must pick its positive among every positive and hard
negative of its batch. Batches never hold two pairs of the same entry (nor a pair whose hard
negative belongs to another pair's entry), so that no text of an anchor's own entry is treated as
a negative.

The saved weights are an interpolation of the trained and the starting weights (WiSE-FT, Wortsman
et al. 2022, "Robust fine-tuning of zero-shot models"): `tuned_share` of the trained ones. Trained
on a few alternates per entry, the model over-fits them; the interpolation keeps what the general
model knew and measured better on the BANKING77 and CLINC150 val splits than either end point.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

from qa.training.finetune_data import TrainingPair

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@dataclass(frozen=True)
class TrainingOptions:
    """How the bi-encoder is trained (the defaults run in minutes on 2 CPU cores)."""

    epochs: int = 1
    rounds: int = 6  # pairs per anchor (each with another positive and negative)
    max_pairs: int = 5000  # at most this many pairs (a bound on the time a large knowledge base takes)
    batch_size: int = 32
    learning_rate: float = 1e-4
    max_seq_length: int = 64
    warmup_ratio: float = 0.1
    hard_negatives: bool = True
    tuned_share: float = 0.6  # share of the trained weights in the saved model, the rest the starting ones
    seed: int = 13

    def __post_init__(self) -> None:
        if min(self.epochs, self.rounds, self.max_seq_length, self.max_pairs) < 1 or self.batch_size < 2:
            raise ValueError("epochs, rounds, max_pairs and max_seq_length must be at least 1, batch_size at least 2")
        if not 0 < self.learning_rate < 1:
            raise ValueError("the learning rate must be in (0, 1)")
        if not 0 < self.tuned_share <= 1:
            raise ValueError("the share of the trained weights must be in (0, 1]")


class EntryBatchSampler(DefaultBatchSampler):
    """Shuffled batches in which no two rows share an entry, as far as the rows allow.

    Rows that no batch can take without a clash (the last few of an epoch) fill the last batches
    anyway, so an epoch has exactly ceil(rows / batch_size) batches, as the scheduler expects.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        *args: Any,
        groups: Sequence[frozenset[str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(dataset, batch_size, drop_last, *args, **kwargs)
        if len(groups) != len(dataset):
            raise ValueError("each row needs its entries")
        self.groups = list(groups)

    def __iter__(self) -> Iterator[list[int]]:
        generator = self.generator or torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        pending = torch.randperm(len(self.groups), generator=generator).tolist()
        while pending:
            batch, used, rest = [], set(), []
            for index in pending:
                if len(batch) < self.batch_size and self.groups[index].isdisjoint(used):
                    batch.append(index)
                    used |= self.groups[index]
                else:
                    rest.append(index)
            short = self.batch_size - len(batch)
            batch, pending = batch + rest[:short], rest[short:]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self) -> int:
        rows = len(self.groups)
        return rows // self.batch_size if self.drop_last else math.ceil(rows / self.batch_size)


def train_bi_encoder(
    model: SentenceTransformer, pairs: Sequence[TrainingPair], options: TrainingOptions, work_dir: Path
) -> SentenceTransformer:
    """Fine-tune `model` in place on `pairs` (with their hard negatives when they all have one), then
    interpolate its weights with the starting ones (`options.tuned_share`)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if not pairs:
        raise ValueError("no training pairs")
    columns = {"anchor": [p.anchor for p in pairs], "positive": [p.positive for p in pairs]}
    if options.hard_negatives and all(p.negative is not None for p in pairs):
        columns["negative"] = [str(p.negative) for p in pairs]
    groups = [p.entries if "negative" in columns else frozenset({p.entry_id}) for p in pairs]
    model.max_seq_length = options.max_seq_length
    start = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=options.epochs,
        per_device_train_batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        warmup_steps=options.warmup_ratio,
        lr_scheduler_type="linear",
        batch_sampler=functools.partial(EntryBatchSampler, groups=groups),
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=options.seed,
        dataloader_drop_last=False,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict(columns), loss=MultipleNegativesRankingLoss(model)
    )
    trainer.train()
    interpolate_weights(model, start, options.tuned_share)
    return model


def interpolate_weights(model: torch.nn.Module, start: dict[str, torch.Tensor], tuned_share: float) -> None:
    """Set each floating-point weight of `model` to `tuned_share` of itself plus the rest of its `start` value."""
    if tuned_share == 1:
        return
    model.load_state_dict(
        {
            name: torch.lerp(start[name], tensor, tuned_share) if tensor.is_floating_point() else tensor
            for name, tensor in model.state_dict().items()
        }
    )
