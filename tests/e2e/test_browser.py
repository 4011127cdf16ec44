"""The app in a real browser (Debian's chromium driven by Playwright): chat, sources, upload, feedback."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPLIES = "#chatbot .bot-row"  # one per reply: the answer and its sources

NEW_FAQ = """\
entries:
  - id: office-parrot
    question: What does the office parrot eat?
    answer: Our office parrot Polly eats sunflower seeds and fresh mango every morning.
"""
BROKEN_FAQ = """\
entries:
  - question: How do I export my notes?
    answer: Settings > Export.
  - question: Is there an entry without an answer?
"""


def ask(page, question: str) -> None:
    """Type a question and wait until the bot's reply to it is complete."""
    before = page.locator(REPLIES).count()
    page.fill("#message textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([selector, n]) => { const r = document.querySelectorAll(selector); "
        "return r.length > n && !r[r.length - 1].innerText.includes('…'); }",
        arg=[REPLIES, before],
    )


def last_reply(page) -> str:
    return page.locator(REPLIES).last.inner_text()


def wait_for_text(page, selector: str, text: str) -> str:
    """Wait until the element shows `text`; returns all its text."""
    page.wait_for_function("([s, t]) => document.querySelector(s).innerText.includes(t)", arg=[selector, text])
    return page.locator(selector).inner_text()


def check_upload(page, password: str, path: Path, content: str, expected: str) -> str:
    """Upload a file in the knowledge base tab; returns the check's report once it shows `expected`."""
    path.write_text(content, encoding="utf-8")
    page.get_by_role("tab", name="Knowledge base").click()
    page.locator("#admin-tab input[type=password]").fill(password)
    page.locator("#upload input[type=file]").set_input_files(str(path))
    return wait_for_text(page, "#validation", expected)


def test_answer_shows_its_sources_and_confidence(page, shot) -> None:
    ask(page, "How do I reset my password?")

    reply = last_reply(page)
    assert "60 minutes" in reply
    assert "confidence (" in reply
    page.get_by_text("Sources (").last.click()
    sources = page.locator("#chatbot").get_by_text("kb/faq.yaml")
    sources.first.wait_for()
    assert page.locator("#chatbot").get_by_text("How do I reset my password?").count() >= 2  # asked + source
    shot(page, "chat-answer-with-sources")


def test_suggested_question_is_answered(page, shot) -> None:
    page.get_by_text("How much does the Plus plan cost?").first.click()
    wait_for_text(page, "#chatbot", "$4.99")
    shot(page, "chat-suggested-question")


def test_uploaded_faq_answers_questions(page, app, shot, tmp_path: Path) -> None:
    report = check_upload(page, app.password, tmp_path / "parrot_faq.yaml", NEW_FAQ, "Ready to load")
    assert "1 FAQ entries" in report
    shot(page, "admin-upload-checked")
    page.locator("#load").click()
    wait_for_text(page, "#validation", "Loaded.")
    wait_for_text(page, "#entries", "uploads/parrot_faq.yaml")
    shot(page, "admin-upload-loaded")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "what does the parrot eat?")

    assert "sunflower seeds" in last_reply(page)
    assert (app.data_dir / "uploads" / "parrot_faq.yaml").read_text(encoding="utf-8") == NEW_FAQ
    shot(page, "chat-answer-from-upload")


def test_broken_upload_is_reported_with_its_line(page, app, shot, tmp_path: Path) -> None:
    report = check_upload(page, app.password, tmp_path / "broken.yaml", BROKEN_FAQ, "problem")

    assert "uploads/broken.yaml:4" in report and "no answer" in report
    assert page.locator("#load").is_disabled()
    shot(page, "admin-upload-problems")


def test_thumbs_up_is_stored_with_the_answer(page, client, app, shot) -> None:
    before = client.predict(app.password, api_name="/insights")["feedback"]["up"]
    ask(page, "Can I use the app offline?")
    page.locator("#chatbot button[aria-label='Like']").last.click()
    page.get_by_text("Thanks for your feedback").wait_for()

    insights = client.predict(app.password, api_name="/insights")
    assert insights["feedback"]["up"] == before + 1
    shot(page, "chat-feedback")


def test_insights_tab_shows_figures_with_the_password(page, app, shot) -> None:
    ask(page, "What is the airspeed of an unladen swallow?")
    page.get_by_role("tab", name="Insights").click()
    page.locator("#insights-tab input[type=password]").fill(app.password)
    page.locator("#insights-tab button", has_text="Refresh").click()
    wait_for_text(page, "#insights-summary", "turns")

    assert "unladen swallow" in page.locator("#insights-gaps").inner_text()
    shot(page, "insights")
