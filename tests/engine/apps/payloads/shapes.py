"""A user class that Durable Functions serializes through to_json/from_json."""

from __future__ import annotations

from typing import Any


class Box:
    def __init__(self, width: int, label: str) -> None:
        self.width = width
        self.label = label

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "label": self.label}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Box:
        return cls(data["width"], data["label"])
