"""FAQ and document loaders: every format, validation with file, line and reason."""

from pathlib import Path

import pytest

from qa.ingest.errors import KnowledgeBaseError
from qa.ingest.sources import discover, load_knowledge
from qa.types import Document

YAML_FAQ = """\
entries:
  - id: reset
    question: How do I reset my password?
    answer: Use the "Forgot password" link.
    alternate_questions: ["I forgot my password", "How do I reset my password?"]
    category: account
    url: https://help.example.com/reset
  - question: Can I get a refund?
    answer: Within 30 days.
"""


def load(tmp_path: Path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    files, folders = discover([path])
    return load_knowledge(files, folders)


def problems(tmp_path: Path, name: str, text: str | bytes) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as error:
        load(tmp_path, name, text)
    return [str(problem) for problem in error.value.problems]


def test_yaml_entries_with_fields_lines_and_slug_ids(tmp_path: Path) -> None:
    knowledge = load(tmp_path, "faq.yaml", YAML_FAQ)
    first, second = knowledge.entries
    assert (first.id, first.category, first.url, first.line) == ("reset", "account", "https://help.example.com/reset", 2)
    assert first.alternate_questions == ("I forgot my password",)  # the question itself is not repeated
    assert (second.id, second.line) == ("can-i-get-a-refund", 8)
    assert knowledge.sources == ("faq.yaml",)


def test_yaml_plain_list_is_accepted(tmp_path: Path) -> None:
    knowledge = load(tmp_path, "faq.yml", "- question: Q one?\n  answer: A one.\n")
    assert [entry.question for entry in knowledge.entries] == ["Q one?"]


def test_json_entries_get_their_lines(tmp_path: Path) -> None:
    text = '{"entries": [\n  {"id": "a", "question": "Q?", "answer": "A."},\n  {"question": "R?", "answer": "B."}\n]}'
    knowledge = load(tmp_path, "faq.json", text)
    assert [(entry.id, entry.line) for entry in knowledge.entries] == [("a", 2), ("r", 3)]


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    assert problems(tmp_path, "faq.json", '[\n {"question": "Q?",\n  "answer": }\n]') == [
        "faq.json:3: not valid JSON: Expecting value"
    ]


def test_csv_entries_with_alternates(tmp_path: Path) -> None:
    text = 'id,question,answer,alternate_questions\nship,How long is shipping?,"Three days,\nusually.",shipping time | delivery time\n'
    (entry,) = load(tmp_path, "faq.csv", text).entries
    assert entry.alternate_questions == ("shipping time", "delivery time")
    assert entry.answer == "Three days,\nusually."
    assert entry.line == 2


def test_csv_missing_column_and_ragged_row(tmp_path: Path) -> None:
    assert problems(tmp_path, "a.csv", "id,question\nx,Q?\n") == ["a.csv:1: the header row has no answer column"]
    assert "b.csv:3:" in problems(tmp_path, "b.csv", "question,answer\nQ?,A\nR?,B,extra\n")[0]


def test_markdown_faq_headings_become_entries(tmp_path: Path) -> None:
    text = "# Help\n\n## How do I export?\nUse File > Export.\n\nIt makes a zip.\n\n## Is there an API?\nYes.\n"
    knowledge = load(tmp_path, "help-faq.md", text)
    assert [(e.question, e.answer, e.line) for e in knowledge.entries] == [
        ("How do I export?", "Use File > Export.\n\nIt makes a zip.", 3),
        ("Is there an API?", "Yes.", 8),
    ]


def test_markdown_with_faq_front_matter_is_an_faq(tmp_path: Path) -> None:
    knowledge = load(tmp_path, "help.md", "---\ntype: faq\n---\n## Q?\nA.\n")
    assert [(e.question, e.line) for e in knowledge.entries] == [("Q?", 4)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("entries:\n  - question: Q?\n", "faq.yaml:2: the entry has no answer"),
        ("entries:\n  - question: Q?\n    anwser: A\n", "faq.yaml:2: unknown field(s) 'anwser'"),
        ("entries:\n  - question: [a, b]\n    answer: A\n", "faq.yaml:2: 'question' must be text"),
        ("entries:\n  - question: Q?\n    answer: A\n    alternate_questions: {a: 1}\n", "faq.yaml:2: 'alternate_questions' must be a list"),
        ("entries:\n  - q: [\n", "faq.yaml:3: not valid YAML"),
        ("entries: []\n", "faq.yaml: the file holds no FAQ entries"),
        ("questions:\n  - a\n", "faq.yaml:1: expected a list of entries"),
        ("entries:\n  - just text\n", "faq.yaml:2: an entry must be a mapping"),
    ],
)
def test_malformed_yaml_names_line_and_reason(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, "faq.yaml", text)[0].startswith(expected)


def test_duplicate_ids_are_reported_with_both_places(tmp_path: Path) -> None:
    text = "- {id: a, question: Q1, answer: A}\n- {id: a, question: R1, answer: B}\n"
    assert problems(tmp_path, "faq.yaml", text) == ["faq.yaml:2: duplicate id 'a' (first at faq.yaml:1)"]


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.yaml").write_text("- {question: Q1}\n- {answer: A}\n")
    (tmp_path / "kb" / "b.bin").write_text("?")
    files, folders = discover([tmp_path / "kb"])
    with pytest.raises(KnowledgeBaseError) as error:
        load_knowledge(files, folders)
    text = str(error.value)
    assert "kb/a.yaml:1: the entry has no answer" in text
    assert "kb/a.yaml:2: the entry has no question" in text
    assert "kb/b.bin: unsupported file type '.bin'" in text
    assert "the index was left as it was" in text


def test_non_utf8_file_is_rejected(tmp_path: Path) -> None:
    assert problems(tmp_path, "faq.yaml", b"- question: caf\xe9\n")[0].startswith("faq.yaml: not UTF-8")


def test_documents_markdown_text_html(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# User guide\n\n## Install\nRun it.\n")
    (tmp_path / "docs" / "notes.txt").write_text("Plain notes.")
    (tmp_path / "docs" / "page.html").write_text(
        "<html><head><title>Fixes</title><script>alert(1)</script></head>"
        "<body><h2>Sync</h2><p>Restart the app.</p>"
        "<table><tr><th>Light</th><th>Meaning</th></tr><tr><td>Blinking blue</td><td>Ready</td></tr></table></body></html>"
    )
    (tmp_path / "docs" / "README.md").write_text("# skipped")
    files, folders = discover([tmp_path / "docs"])
    documents = {d.source: d for d in load_knowledge(files, folders).documents}
    assert set(documents) == {"docs/guide.md", "docs/notes.txt", "docs/page.html"}
    assert documents["docs/guide.md"].title == "User guide"
    assert documents["docs/notes.txt"].title == "Notes"
    html = documents["docs/page.html"]
    assert html.title == "Fixes"
    assert "## Sync" in html.text and "Restart the app." in html.text and "alert" not in html.text
    assert "Blinking blue | Ready" in html.text
    assert folders == ["docs/"]


def test_pdf_document(tmp_path: Path) -> None:
    pdf = _tiny_pdf("Warranty lasts two years.")
    (document,) = load(tmp_path, "warranty.pdf", pdf).documents
    assert isinstance(document, Document)
    assert "Warranty lasts two years." in document.text


def test_broken_pdf_is_rejected(tmp_path: Path) -> None:
    assert problems(tmp_path, "broken.pdf", b"%PDF-1.4 nonsense")[0].startswith("broken.pdf: not a readable PDF")


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF with one line of text, written by hand (no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
