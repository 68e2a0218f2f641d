"""The `date` filter, its common formats written directly (a template builtin:
backend/settings/base.py).

Lists show a date on every row (« d/m/Y », « d/m/Y à H:i »): Django's filter looks the format
up, then walks it character by character through `DateFormat`, ≈ 30 µs a date — 0.9 ms of a
page of 25 rows, a tenth of its CPU (issue 17). A format made of day, month, year, hour, minute
and second and of characters that are not format characters is turned once into a function
that writes the same digits; anything else (another format character, a backslash, a value
that is not a date or a datetime, a time asked of a date) goes to Django's own filter. The
template engine converts an aware datetime to the current time zone before either
(`expects_localtime`), as for Django's."""

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache

from django import template
from django.template.defaultfilters import date as django_date

register = template.Library()

# Django's format characters (django/utils/dateformat.py, `re_formatchars`).
_FORMAT_CHARACTERS = frozenset("aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ")
_WRITTEN: dict[str, Callable[[dt.date], str]] = {
    "d": lambda value: f"{value.day:02d}",
    "m": lambda value: f"{value.month:02d}",
    "Y": lambda value: f"{value.year:04d}",
    "H": lambda value: f"{value.hour:02d}",  # type: ignore[attr-defined]
    "i": lambda value: f"{value.minute:02d}",  # type: ignore[attr-defined]
    "s": lambda value: f"{value.second:02d}",  # type: ignore[attr-defined]
}
_TIME = frozenset("His")


@lru_cache(maxsize=256)
def _writer(format_string: str) -> tuple[Callable[[dt.date], str], bool] | None:
    """The function writing `format_string` and whether it needs a time, or None when the
    format has a character this module does not write (Django's filter then)."""
    if "\\" in format_string:
        return None
    parts: list[Callable[[dt.date], str] | str] = []
    for piece in re.split(r"(.)", format_string):
        if not piece:
            continue
        if piece in _WRITTEN:
            parts.append(_WRITTEN[piece])
        elif piece in _FORMAT_CHARACTERS:
            return None
        else:
            parts.append(piece)

    def write(value: dt.date) -> str:
        return "".join(part if isinstance(part, str) else part(value) for part in parts)

    return write, bool(_TIME & set(format_string))


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    if arg and isinstance(value, dt.date):  # no format (None, ""): DATE_FORMAT, Django's
        writer = _writer(arg)
        if writer is not None:
            write, needs_time = writer
            if isinstance(value, dt.datetime) or not needs_time:
                return write(value)
    return django_date(value, arg)
