"""The function templates of ``python -m host new`` (shaped like Microsoft's v2 Python templates).

The template texts are package data under ``files/``: ``app/`` for ``init``, ``functions/`` for
``new`` (``NAME.py.tmpl`` is appended to function_app.py, ``NAME.test.tmpl`` becomes
``tests/test_<function>.py``). Placeholders are :class:`string.Template` names.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from string import Template

from host.errors import ConfigError


@dataclass(frozen=True)
class FunctionTemplate:
    """One ``new --template`` choice."""

    name: str
    description: str
    durable: bool = False
    """Needs ``azure.durable_functions`` (``df``) and an app created with ``df.DFApp``."""
    suffixes: tuple[str, ...] = ("",)
    """The function names it adds: ``--name`` plus each suffix."""

    def function_names(self, name: str) -> list[str]:
        return [name + suffix for suffix in self.suffixes]


TEMPLATES: tuple[FunctionTemplate, ...] = (
    FunctionTemplate("http", "HTTP trigger: answers GET/POST /api/<name>"),
    FunctionTemplate("timer", "Timer trigger: runs every 5 minutes (NCRONTAB schedule)"),
    FunctionTemplate("queue", "Queue trigger: processes messages of the storage queue <name>-items"),
    FunctionTemplate("blob", "Blob trigger: processes blobs written to the container <name>-blobs"),
    FunctionTemplate(
        "durable",
        "Durable Functions: HTTP starter <name>_start, orchestrator <name>, activity <name>_hello",
        durable=True,
        suffixes=("_start", "", "_hello"),
    ),
    FunctionTemplate("entity", "Durable entity: a counter with add, reset and get", durable=True),
)
"""Every template, in ``--list`` order."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,100}")


def find_template(name: str) -> FunctionTemplate:
    """The template called ``name`` (ConfigError listing the choices otherwise)."""
    for template in TEMPLATES:
        if template.name == name.lower():
            return template
    raise ConfigError(
        f"no template {name!r}; choose one of: {', '.join(t.name for t in TEMPLATES)} "
        "(python -m host new --list)"
    )


def check_function_name(name: str) -> None:
    """A function name must be a Python identifier (it names the ``def`` too)."""
    if not _IDENTIFIER.fullmatch(name) or name.startswith("__"):
        raise ConfigError(
            f"invalid function name {name!r}: use letters, digits and underscores, starting with a letter"
        )
    if keyword.iskeyword(name):
        raise ConfigError(f"invalid function name {name!r}: {name!r} is a Python keyword")


def read(path: str) -> str:
    """The text of the package data file ``files/<path>``."""
    return resources.files("host.scaffold").joinpath("files", *path.split("/")).read_text(encoding="utf-8")


def render(path: str, **values: str) -> str:
    """``files/<path>`` with its placeholders filled in."""
    return Template(read(path)).substitute(values)


def placeholders(template: FunctionTemplate, name: str, app: str) -> dict[str, str]:
    """The values the function templates use."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or "app"
    return {"app": app, "name": name, "queue": f"{slug}-items", "container": f"{slug}-blobs"}
