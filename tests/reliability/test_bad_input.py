"""Bad input: oversized and fuzzed messages, unsafe links, unsafe YAML, remote code in model folders."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from attacks import ATTACKS
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from kb_probe import write_kb

from qa.config import ConfigError, LimitSettings, Settings, load_settings
from qa.guards import BIDI_CONTROLS, SHOWN_AS_TEXT, InputRejected, check_input, safe_markdown, safe_url
from qa.ingest.errors import KnowledgeBaseError
from qa.ingest.sources import discover, load_knowledge
from qa.pipeline import ChatPipeline

LIMITS = LimitSettings(max_message_chars=20_000)
RTL_MARKS = "\u200e\u200f\u061c" + "".join(sorted(BIDI_CONTROLS))
EMOJI = "😀👍🏽👨‍👩‍👧‍👦🇫🇷❤️\u200d🔥"

messages = st.one_of(
    st.text(st.characters(codec=None), max_size=300),  # anything, lone surrogates included
    st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zs", "Zl", "Zp"]), max_size=100),
    st.text(st.sampled_from(RTL_MARKS + "abc שלום مرحبا"), max_size=200),
    st.text(st.sampled_from(EMOJI + " ?"), max_size=200),
    st.builds(lambda char, n: char * n, st.sampled_from("aé😀\u202e\x00"), st.integers(5_000, 10_000)),
)
fuzz = hypothesis_settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# -- the guard itself (fast) -------------------------------------------------------------------------


@given(messages)
@hypothesis_settings(max_examples=300, deadline=None, database=None)
def test_check_input_cleans_or_rejects(message: str) -> None:
    try:
        cleaned = check_input(message, LIMITS)
    except InputRejected as rejection:
        assert str(rejection)
        return
    assert cleaned == cleaned.strip() and cleaned
    assert not any(unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS for c in cleaned)
    cleaned.encode("utf-8")  # no lone surrogate left: the JSON API and the tokenizer take it


def test_an_oversized_message_is_refused_with_its_size() -> None:
    with pytest.raises(InputRejected, match=r"too long \(1,000,000 characters\).*under 2,000"):
        check_input("x" * 1_000_000, LimitSettings(max_message_chars=2000))


@pytest.mark.parametrize("message", [None, 42, b"bytes", ["a list"], "", "   \n\t ", "\x00\x01\u202e"])
def test_non_text_or_empty_messages_are_refused(message: object) -> None:
    with pytest.raises(InputRejected):
        check_input(message, LIMITS)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://help.example.com/reset?x=1#top", "https://help.example.com/reset?x=1#top"),
        ("mailto:support@example.com", "mailto:support@example.com"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_%28bar%29"),
        ("http://x.org) <img src=x onerror=alert(1)>", "http://x.org%29%20%3Cimg%20src=x%20onerror=alert%281%29%3E"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(document.cookie)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("//evil.example.com", None),
        ("https://example.com/\u202egnp.exe", None),
        (None, None),
    ],
)
def test_safe_url_keeps_web_links_only(url: str | None, shown: str | None) -> None:
    assert safe_url(url) == shown


class TagAudit(HTMLParser):
    """What a browser would build from a text: the tags that could run script."""

    def __init__(self) -> None:
        super().__init__()
        self.unsafe: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SHOWN_AS_TEXT:
            self.unsafe.append(tag)
        for name, value in attrs:
            target = "".join(c for c in (value or "") if c > " ").lower()
            if name.startswith("on") or name in ("style", "srcdoc") or target.startswith(("javascript:", "data:")):
                self.unsafe.append(f"{tag}[{name}]")


def unsafe_tags(text: str) -> list[str]:
    audit = TagAudit()
    audit.feed(text + "\n\n<sub>badge</sub>")  # the chat adds text after an answer
    audit.close()
    return audit.unsafe


@pytest.mark.parametrize("answer", [attack["answer"] for attack in ATTACKS])
def test_safe_markdown_defuses_script_in_entries(answer: str) -> None:
    assert unsafe_tags(answer)  # the attack is real
    assert unsafe_tags(safe_markdown(answer)) == []
    assert "javascript:" not in safe_markdown(answer).split("&lt;")[0]


@pytest.mark.parametrize(
    "text",
    [
        "**Bold**, `code <x>`, a < b, [docs](https://example.com/a_(b)) and [page](docs/page.md).",
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n- item <br/> <b>bold</b> <https://example.com>",
    ],
)
def test_safe_markdown_keeps_harmless_markdown_and_html(text: str) -> None:
    assert safe_markdown(text).replace("<br />", "<br/>") == text


HTML_PIECES = [*'<>/="\' `[]():&#;x\n\t', "script", "svg", "img", "a", "href", "src", "onerror", "on", "style",
               "javascript:", "JaVaScRiPt:", "data:", "iframe", "srcdoc"]  # fmt: skip


@given(st.lists(st.sampled_from(HTML_PIECES), max_size=40).map("".join))
@example("<img/<=javascript:>")  # an attribute named "<" once kept its javascript: value
@hypothesis_settings(max_examples=500, deadline=None, database=None)
def test_safe_markdown_output_never_holds_script(text: str) -> None:
    assert unsafe_tags(safe_markdown(text)) == []


# -- through the real pipeline ------------------------------------------------------------------------


@pytest.fixture
def pipeline(settings: Settings, make_pipeline: Callable[[Settings], ChatPipeline], tmp_path: Path) -> ChatPipeline:
    pipeline = make_pipeline(settings)
    pipeline.indexer.ingest([str(write_kb(tmp_path / "kb", "A"))])
    return pipeline


@pytest.mark.integration
def test_an_oversized_message_runs_no_model_and_the_next_one_is_served(
    pipeline: ChatPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    run = pipeline.embedder.run

    def counted(texts: list[str], *args: object, **kwargs: object) -> object:
        calls.append(len(texts))
        return run(texts, *args, **kwargs)

    monkeypatch.setattr(pipeline.embedder, "run", counted)
    reply = pipeline.ask("x" * 1_000_000)
    assert reply.intent == "invalid_input" and not reply.answered
    assert "too long (1,000,000 characters)" in reply.answer
    assert calls == []  # refused before any model ran
    served = pipeline.ask("Can I get a refund?")
    assert served.answered and served.sources[0].id == "refund"
    assert calls


@pytest.fixture
def roomy(pipeline: ChatPipeline, make_pipeline: Callable[[Settings], ChatPipeline]) -> ChatPipeline:
    """The same knowledge base with a limit of 20,000 characters: 10,000-character words reach the models."""
    return make_pipeline(pipeline.settings.replace(limits=LIMITS))


@pytest.mark.integration
@given(message=messages)
@fuzz
def test_fuzzed_messages_always_get_a_reply_or_a_clear_error(
    pipeline: ChatPipeline, roomy: ChatPipeline, message: str
) -> None:
    for bot in (pipeline, roomy):
        reply = bot.ask(message)
        assert reply.answer.strip()
        json.dumps(reply.to_json(), ensure_ascii=False).encode("utf-8")  # what the API sends


# -- configuration and knowledge files are read with safe YAML ----------------------------------------

PYTHON_TAG = "!!python/object/apply:os.system ['touch {marker}']"


def test_config_yaml_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {PYTHON_TAG.format(marker=marker)}\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(config)
    assert not marker.exists()


def test_faq_yaml_cannot_run_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    faq = tmp_path / "faq.yaml"
    faq.write_text(f"- question: Hi?\n  answer: {PYTHON_TAG.format(marker=marker)}\n")
    files, folders = discover([faq])
    with pytest.raises(KnowledgeBaseError):
        load_knowledge(files, folders)
    assert not marker.exists()
