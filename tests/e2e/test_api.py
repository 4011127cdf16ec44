"""The named API endpoints, called with gradio_client against the running app."""

from __future__ import annotations

import pytest
import yaml
from gradio_client.exceptions import AppError

from qa.ingest.faq_loaders import load_yaml
from qa.types import Reply

pytestmark = pytest.mark.e2e

ADMIN_ENDPOINTS = {
    "/kb_sources": (),
    "/kb_entries": ("",),
    "/kb_export": (),
    "/kb_delete": ("kb/faq.yaml",),
    "/insights": (),
}


def test_ask_answers_from_the_right_entry(client) -> None:
    reply = client.predict("I forgot my password, what now?", None, api_name="/ask")

    assert set(Reply("", "faq", 0.0).to_json()) <= set(reply)
    assert reply["answered"] is True
    assert reply["sources"][0]["id"] == "reset-password"
    assert reply["sources"][0]["url"] == "https://help.example.com/reset-password"
    assert "60 minutes" in reply["answer"]


def test_ask_says_when_it_does_not_know(client) -> None:
    reply = client.predict("What is the boiling point of tungsten?", None, api_name="/ask")

    assert reply["answered"] is False


@pytest.mark.parametrize("password", [None, "", "wrong password"])
@pytest.mark.parametrize("endpoint", sorted(ADMIN_ENDPOINTS))
def test_admin_endpoints_refuse_without_the_password(client, endpoint: str, password: str | None) -> None:
    with pytest.raises(AppError, match="admin password"):
        client.predict(password, *ADMIN_ENDPOINTS[endpoint], api_name=endpoint)


def test_refused_delete_leaves_the_knowledge_base(client, app) -> None:
    before = client.predict(app.password, api_name="/kb_sources")

    with pytest.raises(AppError):
        client.predict("wrong", "kb/faq.yaml", api_name="/kb_delete")

    assert before["kb/faq.yaml"] > 0
    assert client.predict(app.password, api_name="/kb_sources") == before


def test_admin_endpoints_work_with_the_password(client, app) -> None:
    entries = client.predict(app.password, "offline", api_name="/kb_entries")
    exported = client.predict(app.password, api_name="/kb_export")

    assert [entry["id"] for entry in entries] == ["offline"]
    reloaded = [raw["id"] for raw, _ in load_yaml(exported)]
    assert sorted(reloaded) == ["contact-support", "delete-account", "offline", "plus-price", "reset-password"]
    assert "# source: kb/faq.yaml" in exported and yaml.safe_load(exported)["entries"]


def test_delete_of_an_unknown_source_is_a_clear_error(client, app) -> None:
    with pytest.raises(AppError, match="no source named 'nothing.yaml'"):
        client.predict(app.password, "nothing.yaml", api_name="/kb_delete")


def test_turns_are_recorded_for_insights(client, app) -> None:
    client.predict("How much does the Plus plan cost?", "conversation-1", api_name="/ask")

    insights = client.predict(app.password, api_name="/insights")

    assert insights["turns"] >= 1
    assert insights["intents"].get("faq", 0) >= 1
    assert set(insights["latency_ms"]) == {"p50", "p90", "p99"}


def test_stream_ends_with_the_complete_reply(client) -> None:
    job = client.submit("How do I delete my account?", None, None, api_name="/stream")
    replies = list(job)

    assert replies and replies[-1]["answered"] is True
    assert replies[-1]["sources"][0]["id"] == "delete-account"
    assert replies[-1] == client.predict("How do I delete my account?", None, api_name="/ask") | {
        "timings_ms": replies[-1]["timings_ms"]
    }
