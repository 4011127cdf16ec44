"""Intent data sets (CLINC150, BANKING77) as an evaluation: the knowledge base and labelled queries.

The knowledge base is built from the training utterances (`qa.training.intent_datasets`); the
queries are a split that the knowledge base never saw ("test" by default, with CLINC150's
out-of-scope utterances as out-of-scope queries).
"""

from __future__ import annotations

from pathlib import Path

from qa.config import PROJECT_ROOT
from qa.evaluation.queries import EvalQuery, EvaluationError, sample
from qa.training.intent_datasets import DATASETS, load_intent_dataset
from qa.types import Entry

DEFAULT_DATASETS_DIR = PROJECT_ROOT.parent / "shared" / "datasets"
IN_SCOPE, OUT_OF_SCOPE = "in_scope", "out_of_scope"


def dataset_evaluation(
    name: str,
    data_dir: str | Path = DEFAULT_DATASETS_DIR,
    split: str = "test",
    limit: int | None = None,
    intents: int | None = None,
    seed: int = 13,
) -> tuple[tuple[Entry, ...], list[EvalQuery]]:
    """The entries of data set `name` and the queries of `split` (a seeded sample of `limit` of them).

    `intents` keeps the first N intents and their queries (out-of-scope queries stay): a quick run.
    """
    if name not in DATASETS:
        raise EvaluationError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    try:
        dataset = load_intent_dataset(name, data_dir, split)
    except (OSError, KeyError, ValueError) as error:
        raise EvaluationError(f"cannot load the data set {name!r} from {data_dir}: {error}") from error
    entries = dataset.entries[:intents] if intents is not None else dataset.entries
    kept = {entry.id for entry in entries}
    queries = [
        EvalQuery(q.text, (q.intent,) if q.intent else None, kind=IN_SCOPE if q.intent else OUT_OF_SCOPE, line=index)
        for index, q in enumerate(dataset.queries, 1)
        if q.intent is None or q.intent in kept
    ]
    return entries, sample(queries, limit, seed)
