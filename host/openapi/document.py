"""The whole OpenAPI document, assembled from the areas' ``PATHS`` and ``SCHEMAS``.

To document a new endpoint: add its path to the ``PATHS`` of its area's module (or a new module
listed in :data:`AREAS`), its schemas to ``SCHEMAS``, then regenerate the checked-in copy with
``python -m host.openapi > docs/openapi.json``. The test suite fails while the copy differs, and
runs schemathesis against every documented operation.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from host.openapi import admin, durable, inspect, reload

AREAS: tuple[ModuleType, ...] = (durable, admin, inspect, reload)
"""Modules with ``PATHS`` and ``SCHEMAS`` (document order)."""


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the host's HTTP API."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for area in AREAS:
        for name, item in area.PATHS.items():
            if name in paths:
                raise ValueError(f"OpenAPI path {name} is documented twice ({area.__name__})")
            paths[name] = item
        schemas.update(area.SCHEMAS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "funchost HTTP API",
            "version": "1.0",
            "description": (
                "The Durable Functions HTTP API (/runtime/webhooks/durabletask; the same routes under "
                "/durabletask for the SDK's client) and the host's admin endpoints. Without --enable-auth "
                "the host accepts requests from loopback without keys; with it, the Durable API needs the "
                "durabletask_extension system key or the master key and /admin needs the master key "
                "(x-functions-key header or code query parameter)."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:7071"}],
        "security": [{}, {"functionsKey": []}, {"code": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "functionsKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "code": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }


def document_text() -> str:
    """The document as the checked-in ``docs/openapi.json`` holds it."""
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"
