"""The picture of an evaluation (`qa eval --plot`): ranking figures, and accuracy across thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.evaluation.queries import EvaluationError
from qa.evaluation.report import outcome_sweep, ranking_rows
from qa.evaluation.runner import Outcome

RANKING_KEYS = ("recall@1", "recall@5", "mrr@10")


def plot_report(report: dict[str, Any], outcomes: Sequence[Outcome], path: str | Path) -> None:
    """Save a PNG: bi-encoder vs re-ranked figures, and accuracy / out-of-scope recall by threshold."""
    try:
        import matplotlib
    except ImportError as error:
        raise EvaluationError("--plot needs matplotlib: pip install matplotlib") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (bars, curve) = plt.subplots(1, 2, figsize=(11, 4))
    if report["retrieval"]:
        xs, rows = np.arange(len(RANKING_KEYS)), ranking_rows(report)
        width = 0.8 / len(rows)
        for index, (label, key) in enumerate(rows):
            offset = (index - (len(rows) - 1) / 2) * width
            values = [report[key][name] for name in RANKING_KEYS]
            bars.bar(xs + offset, values, width, label=label)
            for x, y in zip(xs + offset, values):
                bars.annotate(f"{y:.3f}", (x, y), ha="center", va="bottom", fontsize=8)
        bars.set_xticks(xs, RANKING_KEYS)
        bars.set_ylim(0, 1.08)
        bars.legend(fontsize=8, loc="lower right")
    bars.set_title(f"Ranking of in-scope queries ({report['n_in_scope']})")

    thresholds = np.round(np.linspace(0, 1, 101), 2)
    sweep = outcome_sweep(outcomes, thresholds)
    curve.plot(thresholds, sweep["accuracy"], label="accuracy")
    if "oos_recall" in sweep:
        curve.plot(thresholds, sweep["oos_recall"], label="out-of-scope recall")
    curve.axvline(report["oos"]["threshold"], color="grey", linestyle="--", label="configured threshold")
    curve.set_xlabel("answer threshold (confidence of the best candidate)")
    curve.set_ylim(0, 1.02)
    curve.legend(fontsize=8)
    curve.set_title(f"Accuracy by threshold ({report['n']} queries)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
