"""The API's JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES and every ApiViewSet).

Python's `json` reads more than JSON: `NaN` and `Infinity`, and it fails with a RecursionError (a
500) on a body nested a few thousand levels deep. Here all of that is a 400 before any view runs.
"""

import json
import math
import re

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

# Deeper JSON is refused before parsing: no record of this API nests more than a few levels, and
# Python's parser would exhaust its recursion limit (a RecursionError, i.e. a 500) near 1,000.
MAX_JSON_DEPTH = 32
# JSON strings (with their escapes) are skipped when counting the depth of brackets.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, in one pass without recursion."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]}… is too large")
    return value


def _check_text(value) -> None:
    """Strings must be encodable text: a lone surrogate (`"\\ud800"`) cannot be stored or shown."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as error:
                raise exceptions.ParseError(
                    "JSON parse error - a string holds an unpaired surrogate (\\u"
                    f"{ord(item[error.start]):04x}), which is not text."
                ) from error
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class StrictJSONParser(JSONParser):
    """JSON as RFC 8259 has it: no NaN or Infinity, numbers that fit, strings that are text, and
    at most MAX_JSON_DEPTH levels of nesting; anything else is a 400, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
        except UnicodeDecodeError as error:
            raise exceptions.ParseError(f"JSON parse error - the body is not {encoding} text.") from error
        if json_depth(text) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
        try:
            data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except (ValueError, RecursionError) as error:
            raise exceptions.ParseError(f"JSON parse error - {error}") from error
        _check_text(data)
        return data
