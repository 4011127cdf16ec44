"""Progress reporting for long work: one callback type, shown as a tqdm bar in the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as long work advances."""


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that shows nothing."""


@contextmanager
def tqdm_progress() -> Iterator[Progress]:
    """A progress callback that draws one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=f"{stage:>9}", unit="", leave=True)
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield report
    finally:
        for bar in bars.values():
            bar.close()
