"""Request parsers. A body nested deeper than Python's recursion limit is bad input (400),
not a crash: DRF's JSONParser only turns ValueError into a ParseError. A string holding a
control character or a bidirectional override (parcours/text.py) is refused for every endpoint
at once, as a 400 naming the field."""

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from ..text import MESSAGE, has_forbidden_characters


def _forbidden_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if has_forbidden_characters(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            if has_forbidden_characters(key_text):
                yield path or "non_field_errors"
            yield from _forbidden_paths(item, f"{path}.{key_text}" if path else key_text)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _forbidden_paths(item, f"{path}.{index}" if path else str(index))


def refuse_forbidden_characters(data: Any) -> None:
    """A 400 whose keys are the top-level fields holding such a string (a nested one is named
    under its field, e.g. « rungs »)."""
    fields = sorted(
        {path.split(".", 1)[0] or "non_field_errors" for path in _forbidden_paths(data)}
    )
    if fields:
        raise ValidationError({field: [MESSAGE] for field in fields})


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("JSON trop profondément imbriqué.")) from exc
        refuse_forbidden_characters(data)
        return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_forbidden_characters({key: data.getlist(key) for key in data})
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refuse_forbidden_characters({key: parsed.data.getlist(key) for key in parsed.data})
        return parsed
