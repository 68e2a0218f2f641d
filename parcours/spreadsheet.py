"""The one CSV writer of parcours: every cell neutralised against formula injection.

A spreadsheet opening a CSV runs a cell that starts with `=`, `+`, `-` or `@` (and, in some
programs, a tab or a carriage return before one of them) as a formula: a case worker's free text
(a break-glass reason, a name) typed as `=HYPERLINK("http://…","clic")` would become a link or a
command in a DPO's spreadsheet. As OWASP recommends ("CSV Injection"), such a cell gets a leading
apostrophe, which spreadsheets show as text and hide; the csv module then quotes the cell where
its content needs it. Every CSV export writes through `csv_writer` (tests/test_architecture.py
checks that no other module calls `csv.writer`).
"""

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> str:
    """The text of a cell, with a leading apostrophe where a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


class SafeCsvWriter:
    """`csv.writer`'s `writerow`/`writerows`, each cell through `neutralise_cell`."""

    def __init__(self, stream: TextIO, *, delimiter: str = ";"):
        self._writer = csv.writer(stream, delimiter=delimiter)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: TextIO, *, delimiter: str = ";") -> SafeCsvWriter:
    """The writer every CSV export uses (`;`: what French spreadsheets expect)."""
    return SafeCsvWriter(stream, delimiter=delimiter)
