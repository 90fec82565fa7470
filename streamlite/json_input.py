"""JSON from clients (API bodies, websocket frames) with limits: Python's parser recurses per nesting level,
so ``"[" * 5000`` would raise RecursionError, and a lone surrogate (``"\\ud800"``) is valid JSON that no
UTF-8 store accepts. Both are refused as bad input before anything acts on them."""

import json
import re
from typing import Any

from django.conf import settings

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(ValueError):
    """The text is not JSON this site takes; the message says why, for the client."""


def json_loads_limited(text: str | bytes, *, max_depth: int | None = None) -> Any:
    max_depth = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    try:
        value = json.loads(text, parse_constant=_constant_refuse)
    except RecursionError as error:
        raise JsonRefused("JSON nested too deeply.") from error
    except ValueError as error:
        raise JsonRefused(f"JSON parse error - {error}") from error
    _structure_check(value, max_depth)
    return value


def _constant_refuse(name: str):
    raise JsonRefused(f"{name} is not a JSON value.")


def _structure_check(value: Any, max_depth: int) -> None:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                raise JsonRefused("Text must be valid Unicode (no lone surrogates).")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise JsonRefused(f"JSON nested deeper than {max_depth} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
