"""Models never run code shipped with them: every loader passes trust_remote_code=False, and a model
folder that carries its own Python code is refused without running it, even when asked "yes"."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from processes import child_env

from qa.config import PROJECT_ROOT

LOADERS = {"SentenceTransformer", "CrossEncoder", "from_pretrained", "pipeline"}
CUSTOM_CODE = ("configuration_evil", "modeling_evil", "tokenization_evil")


def loader_calls() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for path in sorted((PROJECT_ROOT / "qa").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in LOADERS:
                    calls.append((str(path.relative_to(PROJECT_ROOT)), node.lineno, node))
    return calls


def test_every_model_loader_passes_trust_remote_code_false() -> None:
    calls = loader_calls()
    assert len(calls) >= 4  # the bi-encoder, the cross-encoder, the generator's three from_pretrained
    unsafe = [
        f"{path}:{line}"
        for path, line, call in calls
        if not any(
            k.arg == "trust_remote_code" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in call.keywords
        )
    ]
    assert unsafe == []


@pytest.fixture
def model_with_code(tmp_path: Path) -> Path:
    """A model folder whose config points at Python files of its own; importing them leaves a mark."""
    folder = tmp_path / "model"
    folder.mkdir()
    auto_map = {
        "AutoConfig": "configuration_evil.EvilConfig",
        "AutoModel": "modeling_evil.EvilModel",
        "AutoModelForCausalLM": "modeling_evil.EvilModel",
        "AutoModelForSequenceClassification": "modeling_evil.EvilModel",
    }
    (folder / "config.json").write_text(json.dumps({"model_type": "evil-remote", "auto_map": auto_map}))
    tokenizer_map = {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]}
    (folder / "tokenizer_config.json").write_text(json.dumps({"auto_map": tokenizer_map}))
    for module in CUSTOM_CODE:
        mark = tmp_path / f"RAN-{module}"
        (folder / f"{module}.py").write_text(f"import pathlib\npathlib.Path({str(mark)!r}).touch()\n")
    return folder


LOAD_ALL = """
import sys
from qa.models import load_bi_encoder, load_cross_encoder
from qa.generation.models import load_generator
folder = sys.argv[1]
for load in (lambda: load_bi_encoder(folder), lambda: load_cross_encoder(folder, 64), lambda: load_generator(folder)):
    try:
        load()
        print("LOADED")
    except Exception as error:
        print("REFUSED", type(error).__name__)
"""


@pytest.mark.integration
def test_a_model_with_its_own_code_is_refused_without_running_it(model_with_code: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_ALL, str(model_with_code)],
        check=False,
        input="y\ny\ny\ny\ny\ny\n",  # a prompt "run the custom code?" would be answered yes
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=300,
    )
    refused = ["REFUSED ValueError", "REFUSED ValueError", "REFUSED ModelError"]
    assert result.stdout.split("\n")[:3] == refused, result.stderr
    assert "Do you wish to run the custom code" not in result.stdout + result.stderr
    assert not list(model_with_code.parent.glob("RAN-*"))
