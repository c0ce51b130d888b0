"""The repository's docs stand alone: nothing cites documents outside it, every doc link resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("host", "tests", "bench", "samples", "docs")
SUFFIXES = {".py", ".md", ".toml", ".sh", ".json"}
# Documents that exist only outside the repository (spelled in pieces so this file passes).
OUTSIDE = [
    re.compile(p)
    for p in (
        "df" + "-protocol",
        "taskhub" + "-azure-storage",
        "functions" + "-host\\.md",
        "shared" + "/specs",
        "users" + "-and-peers",
        "\u00a7",
    )
]
DOC_REF = re.compile(r"docs/([\w.-]+\.md)")
MD_LINK = re.compile(r"\]\(([^)#\s]+\.md)(#[^)]*)?\)")


def repo_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "dev.sh", ROOT / "pyproject.toml", ROOT / "function_app.py"]
    for top in SCANNED:
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in SUFFIXES and "__pycache__" not in p.parts]
    return [p for p in files if p.is_file() and p != Path(__file__).resolve()]


def test_no_file_cites_a_document_outside_the_repository() -> None:
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()[:90]}"
        for p in repo_files()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if any(rx.search(line) for rx in OUTSIDE)
    ]
    assert not found, "references to documents outside the repository:\n" + "\n".join(found)


def test_every_docs_reference_and_markdown_link_resolves() -> None:
    missing = []
    for p in repo_files():
        text = p.read_text(encoding="utf-8")
        missing += [
            f"{p.relative_to(ROOT)}: docs/{name}"
            for name in DOC_REF.findall(text)
            if not (ROOT / "docs" / name).is_file()
        ]
        if p.suffix == ".md":
            missing += [
                f"{p.relative_to(ROOT)}: {target}"
                for target, _ in MD_LINK.findall(text)
                if "://" not in target and not (p.parent / target).is_file()
            ]
    assert not missing, "links to files that do not exist:\n" + "\n".join(missing)
