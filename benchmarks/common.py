"""Shared helpers of the benchmark scripts: paths, percentiles, saving JSON and a bar chart."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(ROOT))


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of some timings, in ms."""
    values = np.asarray(values_ms, dtype=float)
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


def save_results(name: str, results: Mapping, bars: Mapping[str, Mapping[str, float]], ylabel: str, title: str) -> None:
    """Write results/<name>.json and a grouped bar chart results/<name>.png; print where."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    groups = list(bars)
    series = list(dict.fromkeys(key for values in bars.values() for key in values))
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(groups) * max(len(series), 1) / 2), 4))
    for i, label in enumerate(series):
        xs = [g + i * width for g in range(len(groups))]
        ys = [bars[group].get(label, 0.0) for group in groups]
        ax.bar(xs, ys, width, label=label)
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.3g}", (x, y), ha="center", va="bottom", fontsize=7)
    ax.set_xticks([g + width * (len(series) - 1) / 2 for g in range(len(groups))], groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}.png", dpi=120)
    plt.close(fig)
    print(f"saved {RESULTS / (name + '.json')} and {RESULTS / (name + '.png')}")
