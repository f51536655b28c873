"""The documentation speaks the public API, in one docstring syntax."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
EXAMPLES = sorted((ROOT / "examples").rglob("*.py"))
IMPORT = re.compile(r"^\s*(?:from\s+(assetquery[\w.]*)\s+import|import\s+(assetquery[\w.]*))", re.M)


def private_imports(text: str) -> list[str]:
    modules = [m.group(1) or m.group(2) for m in IMPORT.finditer(text)]
    return [m for m in modules if any(part.startswith("_") for part in m.split("."))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_import_only_public_modules(page: Path) -> None:
    assert private_imports(page.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "example",
    [p for p in EXAMPLES if "tests" not in p.parts],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_examples_import_only_public_modules(example: Path) -> None:
    assert private_imports(example.read_text(encoding="utf-8")) == []


def test_the_check_finds_a_private_import() -> None:
    assert private_imports("from assetquery._calendar import default_calendar\n") == [
        "assetquery._calendar"
    ]
    assert private_imports("from assetquery.rules import default_calendar\n") == []


def test_docstrings_are_markdown_not_sphinx_roles() -> None:
    # mkdocstrings renders docstrings as Markdown: a Sphinx role would show as raw text.
    role = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):`")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "src").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if role.search(line)
    ]
    assert offenders == []


def test_every_page_is_in_the_site_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").rglob("*.md")):
        assert str(page.relative_to(ROOT / "docs")) in config, page
