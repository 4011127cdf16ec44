"""Many users at once: N concurrent gradio_client conversations for T seconds against the app on loopback.

The app is started as shipped (`python app.py`, the default config: 2 turns answered at a time, a
queue of 64, the demo knowledge base). Each simulated user is its own gradio_client Client that plays
the multi-turn conversations of benchmarks/data/conversations_dev.jsonl through `/ask`, one turn after
the other, under its own conversation id.

- Baseline (same run): one user alone for T seconds.
- Load: N users for T seconds: throughput, p50/p95 latency, errors (must be 0), the app's memory
  (RSS) before and after, and its growth.
- Overload: a burst of B questions sent at the same instant, more than the queue holds: each gets an
  answer or, at once, Gradio's "Queue is full" refusal (HTTP 503), never a time-out or another error.

Prints the figures and writes results/load.json and results/load.png.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, percentiles, save_results
from startup import start_app, stop

BUSY = "Queue is full"


@dataclass
class Tally:
    """What a phase measured: latencies of answered turns, errors by kind, busy refusals."""

    latencies_ms: list[float] = field(default_factory=list)
    busy_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, started: float, reply: dict | None, error: Exception | None) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            if error is not None and BUSY in str(error):
                self.busy_ms.append(elapsed)
            elif error is not None:
                self.errors[f"{type(error).__name__}: {str(error)[:120]}"] += 1
            elif not reply or reply.get("intent") == "error" or not str(reply.get("answer", "")).strip():
                self.errors["an empty or failed reply"] += 1
            else:
                self.latencies_ms.append(elapsed)

    def summary(self, seconds: float | None = None) -> dict:
        errors = sum(self.errors.values())
        result = {"answered": len(self.latencies_ms), "errors": errors, "error_kinds": dict(self.errors)}
        if self.latencies_ms:
            result["latency_ms"] = percentiles(self.latencies_ms)
        if seconds:
            result["throughput_per_s"] = round(len(self.latencies_ms) / seconds, 2)
        if self.busy_ms:
            result |= {"busy": len(self.busy_ms), "busy_answer_ms": percentiles(self.busy_ms)}
        return result


def conversations() -> list[list[str]]:
    """The turns of each scripted conversation, in order."""
    turns: dict[str, list[str]] = defaultdict(list)
    for line in (ROOT / "benchmarks/data/conversations_dev.jsonl").open():
        turn = json.loads(line)
        turns[turn["conversation"]].append(turn["query"])
    return list(turns.values())


def ask(client, tally: Tally, question: str, conversation_id: str | None) -> None:
    started = time.perf_counter()
    try:
        reply = client.predict(question, conversation_id, api_name="/ask")
    except Exception as error:  # noqa: BLE001 - every failure is counted, by kind
        tally.record(started, None, error)
    else:
        tally.record(started, reply, None)


def user(url: str, number: int, until: float, tally: Tally) -> None:
    """One user: conversation after conversation until the time is up."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    scripts = conversations()
    for round_ in itertools.count():
        script = scripts[(number + round_) % len(scripts)]
        for question in script:
            if time.perf_counter() >= until:
                return
            ask(client, tally, question, f"load-{number}-{round_}")


def run_users(url: str, users: int, seconds: float) -> dict:
    tally = Tally()
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=user, args=(url, n, until, tally)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"users": users, "seconds": seconds, **tally.summary(seconds)}


def burst(url: str, size: int) -> dict:
    """`size` questions sent at the same instant from as many threads."""
    from gradio_client import Client

    tally = Tally()
    clients = [Client(url, verbose=False) for _ in range(min(size, 16))]
    questions = [turns[0] for turns in conversations()]
    start = threading.Barrier(size)

    def one(index: int) -> None:
        start.wait()
        ask(clients[index % len(clients)], tally, questions[index % len(questions)], None)

    with ThreadPoolExecutor(max_workers=size) as pool:
        list(pool.map(one, range(size)))
    return {"burst": size, **tally.summary()}


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (Linux: /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8, help="concurrent conversations (N)")
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase (T)")
    parser.add_argument("--burst", type=int, default=150, help="questions sent at once in the overload phase")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="qa-load-"))
    load_before = os.getloadavg()[0]
    process, url, _ = start_app(work / "data", work / "app.log")
    app = process.pid
    try:
        warm = Tally()
        from gradio_client import Client

        client = Client(url, verbose=False)
        for question in conversations()[0]:
            ask(client, warm, question, "warm-up")
        memory_start = rss_mb(app)
        baseline = run_users(url, 1, args.seconds)
        load = run_users(url, args.users, args.seconds)
        memory_after_load = rss_mb(app)
        overload = burst(url, args.burst)
        memory_end = rss_mb(app)
    finally:
        stop(process)

    results = {
        "baseline_one_user": baseline,
        "load": load,
        "overload": overload,
        "throughput_ratio": round(load["throughput_per_s"] / baseline["throughput_per_s"], 2),
        "p50_latency_ratio": round(load["latency_ms"]["p50"] / baseline["latency_ms"]["p50"], 2),
        "memory_mb": {"start": memory_start, "after_load": memory_after_load, "end": memory_end},
        "memory_growth_mb": round(memory_after_load - memory_start, 1),
        "errors": baseline["errors"] + load["errors"] + overload["errors"] + sum(warm.errors.values()),
        "app": "python app.py, default config (concurrency_limit 2, queue_max_size 64), demo knowledge base",
        "cpus": os.cpu_count(),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(results, indent=2))
    bars = {
        "1 user (baseline)": {"p50 ms": baseline["latency_ms"]["p50"], "p95 ms": baseline["latency_ms"]["p95"]},
        f"{args.users} users": {"p50 ms": load["latency_ms"]["p50"], "p95 ms": load["latency_ms"]["p95"]},
    }
    if "busy_answer_ms" in overload:
        bars[f"burst of {args.burst}: busy answer"] = {
            "p50 ms": overload["busy_answer_ms"]["p50"],
            "p95 ms": overload["busy_answer_ms"]["p95"],
        }
    title = (
        f"{args.users} concurrent users: {load['throughput_per_s']} turns/s "
        f"({results['throughput_ratio']}x one user), {results['errors']} errors"
    )
    save_results("load", results, bars, "latency (ms)", title)
    if results["errors"]:
        raise SystemExit(f"{results['errors']} error(s): {load['error_kinds']} {overload['error_kinds']}")


if __name__ == "__main__":
    main()
