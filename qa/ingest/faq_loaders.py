"""FAQ files (YAML, JSON, CSV, Markdown Q&A) → validated entries with their line numbers.

YAML and JSON hold a list of entries or a mapping with an `entries` list. An entry has `question`
and `answer`, and optionally `id` (else a slug of the question), `alternate_questions` (a list, or
in CSV a string split on ` | `), `category` and `url`. Markdown FAQs hold one `## question`
heading per entry, its answer below it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from qa.ingest.errors import FileProblem
from qa.types import Entry

REQUIRED_FIELDS = ("question", "answer")
OPTIONAL_FIELDS = ("id", "alternate_questions", "category", "url")
ALTERNATES_SEPARATOR = " | "

RawEntry = tuple[dict[str, Any], int | None]  # an entry's fields and its line
Loader = Callable[[str], list[RawEntry]]


def slugify(text: str) -> str:
    """A lowercase-kebab id made from a question."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "entry"


def validate_entry(raw: Any, source: str, line: int | None) -> Entry:
    """One entry from its raw fields, or a FileProblem that says what is wrong."""
    if not isinstance(raw, dict):
        raise FileProblem(f"an entry must be a mapping of fields, not {type(raw).__name__}", line)
    unknown = sorted(set(raw) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise FileProblem(
            f"unknown field(s) {', '.join(map(repr, unknown))}; "
            f"an entry has {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}",
            line,
        )
    text = {name: _text_field(raw, name, line) for name in (*REQUIRED_FIELDS, "id", "category", "url")}
    for name in REQUIRED_FIELDS:
        if not text[name]:
            raise FileProblem(f"the entry has no {name}", line)
    question = text["question"]
    alternates = tuple(
        alternate
        for alternate in dict.fromkeys(_alternates(raw.get("alternate_questions"), line))
        if alternate.casefold() != question.casefold()
    )
    return Entry(
        id=text["id"] or slugify(question),
        question=question,
        answer=text["answer"],
        source=source,
        alternate_questions=alternates,
        category=text["category"],
        url=text["url"],
        line=line,
    )


def load_yaml(text: str) -> list[RawEntry]:
    """Entries of a YAML file, with the line where each starts."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise FileProblem(f"not valid YAML: {error.problem}", mark.line + 1 if mark else None) from error
    except yaml.YAMLError as error:
        raise FileProblem(f"not valid YAML: {error}") from error
    return _entries_with_lines(data, node)


def load_json(text: str) -> list[RawEntry]:
    """Entries of a JSON file, with their lines where they can be found."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise FileProblem(f"not valid JSON: {error.msg}", error.lineno) from error
    try:  # JSON is YAML: its node tree gives the lines of the entries
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        node = None
    return _entries_with_lines(data, node)


def load_csv(text: str) -> list[RawEntry]:
    """Entries of a CSV file with a header row (`id,question,answer,...`)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    if missing:
        raise FileProblem(f"the header row has no {', '.join(missing)} column", 1)
    entries: list[RawEntry] = []
    start = 2
    try:
        for row in reader:
            if None in row:
                raise FileProblem(f"this row has {len(header) + len(row[None])} cells, the header has {len(header)}", start)
            fields = {key: value.strip() for key, value in row.items() if value and value.strip()}
            if "alternate_questions" in fields:
                fields["alternate_questions"] = fields["alternate_questions"].split(ALTERNATES_SEPARATOR.strip())
            if fields:
                entries.append((fields, start))
            start = reader.line_num + 1
    except csv.Error as error:
        raise FileProblem(f"not valid CSV: {error}", reader.line_num) from error
    return entries


def load_markdown(text: str) -> list[RawEntry]:
    """Entries of a Markdown FAQ: each `## question` heading and the text under it."""
    entries: list[RawEntry] = []
    question, answer_lines, start = None, [], 0
    for number, line in enumerate(_without_front_matter(text), start=1):
        heading = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
        if heading:
            if question is not None:
                entries.append(({"question": question, "answer": "\n".join(answer_lines).strip()}, start))
            question, answer_lines, start = heading.group(1), [], number
        elif question is not None and not line.startswith("# "):
            answer_lines.append(line)
    if question is not None:
        entries.append(({"question": question, "answer": "\n".join(answer_lines).strip()}, start))
    return entries


def has_faq_front_matter(text: str) -> bool:
    """Whether a Markdown file declares `type: faq` in its front matter."""
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        return False
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return False
    return isinstance(meta, dict) and str(meta.get("type", "")).lower() == "faq"


LOADERS: dict[str, Loader] = {
    ".yaml": load_yaml,
    ".yml": load_yaml,
    ".json": load_json,
    ".csv": load_csv,
    ".md": load_markdown,
    ".markdown": load_markdown,
}


def _without_front_matter(text: str) -> Iterator[str]:
    """The lines of a Markdown file, front matter blanked so line numbers stay right."""
    lines = text.splitlines()
    end = 0
    if lines and lines[0].strip() == "---":
        end = next((i + 1 for i, line in enumerate(lines[1:], start=1) if line.strip() == "---"), 0)
    for index, line in enumerate(lines):
        yield "" if index < end else line


def _entries_with_lines(data: Any, node: yaml.Node | None) -> list[RawEntry]:
    """The entries of a parsed YAML/JSON document, each with its line (from the node tree)."""
    entries_node = node
    if isinstance(data, dict):
        if "entries" not in data:
            raise FileProblem("expected a list of entries or a mapping with an 'entries' list", 1)
        unknown = sorted(set(data) - {"entries"})
        if unknown:
            raise FileProblem(f"unknown top-level key(s) {', '.join(map(repr, unknown))}; expected 'entries'", 1)
        data = data["entries"]
        entries_node = _mapping_value(node, "entries")
    if data is None:
        return []
    if not isinstance(data, list):
        raise FileProblem("expected a list of entries or a mapping with an 'entries' list", 1)
    items = entries_node.value if isinstance(entries_node, yaml.SequenceNode) else []
    lines = [item.start_mark.line + 1 for item in items]
    if len(lines) != len(data):
        lines = [None] * len(data)
    return list(zip(data, lines))


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if getattr(name, "value", None) == key), None)


def _text_field(raw: dict[str, Any], name: str, line: int | None) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FileProblem(f"'{name}' must be text, not {type(value).__name__}", line)
    return str(value).strip() or None


def _alternates(value: Any, line: int | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, (str, int, float)) for item in value):
        raise FileProblem("'alternate_questions' must be a list of questions", line)
    return [str(item).strip() for item in value if str(item).strip()]
