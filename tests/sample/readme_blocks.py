"""The fenced code blocks of README.md, by section (for the tests that run what the README says)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def section(title: str) -> str:
    """The text of the README section whose heading is ``title`` (up to the next heading of its level)."""
    lines = README.read_text(encoding="utf-8").splitlines(keepends=True)
    out: list[str] = []
    level = 0
    fenced = False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        heading = re.match(r"(#+) (.*)", line) if not fenced else None
        if heading and level and len(heading.group(1)) <= level:
            break
        if level:
            out.append(line)
        elif heading and heading.group(2).strip() == title:
            level = len(heading.group(1))
    assert level, f"README has no section {title!r}"
    return "".join(out)


def blocks(title: str, language: str) -> list[str]:
    """The fenced blocks of one language (``sh``, ``python``, ``toml``) in a section."""
    return [body for lang, body in _FENCE.findall(section(title)) if lang == language]


def commands(title: str) -> list[str]:
    """The shell commands of a section's ``sh`` blocks: one per line, comments and blanks dropped."""
    out: list[str] = []
    for body in blocks(title, "sh"):
        for line in body.splitlines():
            command = _strip_comment(line).strip()
            if command:
                out.append(command)
    return out


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside quotes is kept)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def copy_sample_app(target: Path) -> Path:
    """The sample app's files (function_app.py, host.json, local.settings.json, samples/) in ``target``."""
    target.mkdir(parents=True)
    for name in ("function_app.py", "host.json", "local.settings.json"):
        shutil.copy2(REPO / name, target / name)
    shutil.copytree(REPO / "samples", target / "samples", ignore=shutil.ignore_patterns("__pycache__"))
    return target
