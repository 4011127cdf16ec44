"""Documents (Markdown, text, HTML, PDF) → title and text; headings kept as Markdown `#` lines."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from qa.ingest.errors import FileProblem

DocumentLoader = Callable[[Path], tuple[str, str]]  # path → (title, text)

_HTML_DROPPED = ("script", "style", "nav", "footer", "header", "noscript", "iframe", "form", "svg")


def load_markdown_document(path: Path) -> tuple[str, str]:
    text = _read_text(path)
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)
    heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return (heading.group(1).strip() if heading else _title_from_name(path)), text


def load_text_document(path: Path) -> tuple[str, str]:
    return _title_from_name(path), _read_text(path)


def load_html_document(path: Path) -> tuple[str, str]:
    """Visible text of an HTML page; headings become Markdown headings, scripts are dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in soup(_HTML_DROPPED):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for cell in soup.find_all(["td", "th"]):
        cell.insert_after(" | ")
    for block in soup.find_all(["p", "li", "tr", "br", "div", "pre", "blockquote", "dt", "dd"]):
        block.insert_after("\n\n" if block.name != "br" else "\n")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    if title_tag:
        title_tag.decompose()
    text = re.sub(r"[ \t]+", " ", soup.get_text())
    text = re.sub(r"\n\s*\n\s*", "\n\n", text).strip()
    if not title:
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        title = heading.group(1) if heading else _title_from_name(path)
    return title, text


def load_pdf_document(path: Path) -> tuple[str, str]:
    """The text of each page of a PDF, pages separated by blank lines."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise FileProblem("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or _title_from_name(path)
    except (PdfReadError, ValueError, KeyError) as error:
        raise FileProblem(f"not a readable PDF: {error}") from error
    return str(title).strip(), "\n\n".join(page.strip() for page in pages if page.strip())


DOCUMENT_LOADERS: dict[str, DocumentLoader] = {
    ".md": load_markdown_document,
    ".markdown": load_markdown_document,
    ".txt": load_text_document,
    ".html": load_html_document,
    ".htm": load_html_document,
    ".pdf": load_pdf_document,
}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileProblem(f"not UTF-8 text (byte {error.start})") from error


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name
