"""Compact JSON writing with exact decimals (money never passes through a binary float)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def decimal_text(value: Decimal, places: int) -> str:
    """Fixed-notation text of ``value`` rounded (half even) to at most ``places`` decimals."""
    q = value.quantize(Decimal(1).scaleb(-places))
    text = format(q, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class JsonNumber:
    """A JSON number written verbatim from its decimal text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def dumps(obj: Any) -> str:
    """Compact JSON (no spaces), key order as given; ``JsonNumber`` written as a raw number."""
    if isinstance(obj, JsonNumber):
        return obj.text
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]"
    if isinstance(obj, Decimal):
        raise TypeError("wrap decimals in JsonNumber (number) or str (string)")
    if isinstance(obj, float):
        raise TypeError("floats are not written by the generator")
    return json.dumps(obj)
