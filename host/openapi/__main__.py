"""``python -m host.openapi``: print the OpenAPI document (``> docs/openapi.json``)."""

import sys

from host.openapi.document import document_text

sys.stdout.write(document_text())
