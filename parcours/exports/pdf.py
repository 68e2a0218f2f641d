"""A small, generic PDF renderer for reports (reportlab platypus), in French.

    render_report_pdf(title=..., subtitle_lines=[...], sections=[PdfSection(...), ...]) -> bytes

A document is a title, a few subtitle lines and sections; a section is a heading, optional
paragraphs and an optional table (columns + rows of strings). Every text given here is **plain
text**: it is escaped before reportlab's Paragraph mini-markup sees it, so "<b>" or "&" typed by a
user prints as such and never breaks the document or injects markup.

Tables: long cells wrap, the header row repeats on each page, a row taller than a page splits,
zebra rows; A4 landscape for wide tables (`landscape=True`). Every page carries a footer with the
title, the generation date and "Page N / M"; the metadata names the title and "parcours".

Fonts: the PDF standard Helvetica (nothing to install or embed), WinAnsi-encoded: French accents,
« », œ, ’ and € print. A character outside that encoding (e.g. "Ł", "ș") is printed without its
diacritic when it has one ("s"), else as "?": the PDF is the human-readable copy, the exact
values stay in the data (the subject-access pack's JSON).
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.pagesizes import landscape as to_landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    LongTable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

AUTHOR = "parcours"
EMPTY_TABLE_TEXT = "Aucun élément."

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
BLUE = colors.HexColor("#000091")  # the French State's blue (DSFR), as on the web pages
GREY = colors.HexColor("#666666")
ZEBRA = colors.HexColor("#F2F2F9")
RULE = colors.HexColor("#CCCCDD")
CELL_SIZE = 8
CELL_PADDING = 3
MARGIN = 16 * mm
SHORT_VALUE = 20  # characters: a cell value this short is kept on one line when possible
LONG_WORD = 16  # characters: a longer word (a URL, an e-mail address) may be broken
FRAME_PADDING = 6  # reportlab's default Frame padding, on each side
# A heading starts a new page when less than this is left under it: never a heading alone at
# the foot of a page (keepWithNext would instead push a whole long table to the next page).
HEADING_ROOM = 35 * mm

_STYLES = {
    "title": ParagraphStyle(
        "title", fontName=FONT_BOLD, fontSize=18, leading=22, textColor=BLUE, spaceAfter=4
    ),
    "subtitle": ParagraphStyle(
        "subtitle", fontName=FONT, fontSize=10, leading=13, textColor=GREY, spaceAfter=1
    ),
    "heading1": ParagraphStyle(
        "heading1",
        fontName=FONT_BOLD,
        fontSize=13,
        leading=16,
        textColor=BLUE,
        spaceBefore=12,
        spaceAfter=5,
    ),
    "heading2": ParagraphStyle(
        "heading2",
        fontName=FONT_BOLD,
        fontSize=11,
        leading=14,
        spaceBefore=8,
        spaceAfter=4,
    ),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, spaceAfter=5),
    "cell": ParagraphStyle(
        "cell", fontName=FONT, fontSize=CELL_SIZE, leading=CELL_SIZE + 2, alignment=TA_LEFT
    ),
    "cell_bold": ParagraphStyle(
        "cell_bold", fontName=FONT_BOLD, fontSize=CELL_SIZE, leading=CELL_SIZE + 2
    ),
    "header": ParagraphStyle(
        "header",
        fontName=FONT_BOLD,
        fontSize=CELL_SIZE,
        leading=CELL_SIZE + 2,
        textColor=colors.white,
    ),
}


@dataclass(frozen=True)
class PdfSection:
    """A heading, then paragraphs, then a table (all optional but the heading).

    `columns` and `rows` are plain strings; `widths` are relative column weights (computed from
    the content when omitted); `header=False` draws no header row (a two-column "label: value"
    table, its first column in bold); `empty_text` replaces a table without rows; `level` 2
    makes a sub-heading."""

    heading: str
    paragraphs: Sequence[str] = ()
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[Any]] = ()
    widths: Sequence[float] | None = None
    empty_text: str = EMPTY_TABLE_TEXT
    level: int = 1
    header: bool = True


def pdf_text(value: Any) -> str:
    """Printable plain text for the standard fonts (see the module docstring); None is empty."""
    if value is None:
        return ""
    text = str(value)
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        text = "".join(_winansi(char) for char in text)
    # Control characters have no glyph: tabs become spaces, line breaks stay, the rest goes.
    text = text.replace("\t", " ")
    return "".join(c for c in text if c == "\n" or unicodedata.category(c) != "Cc")


# Letters with no Unicode decomposition to a WinAnsi base, and the French typographer's spaces.
_LOOKALIKES = {
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Ħ": "H",
    "ħ": "h",
    "ı": "i",
    "ŀ": "l",
    "\u202f": "\u00a0",
    "\u2007": "\u00a0",
    "\u2009": " ",
}


def _winansi(char: str) -> str:
    try:
        char.encode("cp1252")
        return char
    except UnicodeEncodeError:
        pass
    if char in _LOOKALIKES:
        return _LOOKALIKES[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    try:
        base.encode("cp1252")
        return base or "?"
    except UnicodeEncodeError:
        return "?"


def _markup(value: Any) -> str:
    """Plain text → Paragraph markup: escaped, line breaks kept."""
    return escape(pdf_text(value)).replace("\n", "<br/>")


def french_datetime(value: dt.datetime) -> str:
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local:%d/%m/%Y} à {local:%H:%M}"


class _Bookmark(Flowable):
    """Zero-size marker: an entry in the PDF outline (the reader's side panel) for a heading."""

    def __init__(self, key: str, title: str, level: int):
        super().__init__()
        self.key, self.title, self.level = key, title, level
        self.width = self.height = 0

    def draw(self) -> None:
        self.canv.bookmarkPage(self.key)
        self.canv.addOutlineEntry(self.title, self.key, level=self.level, closed=True)


def _numbered_canvas(footer: str):
    """A canvas that draws "Page N / M" once M is known: pages are kept until `save`, and so
    are their outline destinations (a page is only numbered in the file when it is written)."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []
            self._page_outline_keys: list[tuple[str, dict]] = []

        def bookmarkPage(self, key: str, **kwargs: Any) -> None:
            self._page_outline_keys.append((key, kwargs))

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._page_outline_keys = []  # the next page's (the saved state keeps this page's)
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for page in self._pages:
                self.__dict__.update(page)
                for key, kwargs in self._page_outline_keys:
                    super().bookmarkPage(key, **kwargs)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            width, _height = self._pagesize
            self.saveState()
            self.setStrokeColor(RULE)
            self.line(MARGIN, 12 * mm, width - MARGIN, 12 * mm)
            self.setFont(FONT, 7.5)
            self.setFillColor(GREY)
            self.drawString(MARGIN, 8 * mm, footer)
            self.drawRightString(width - MARGIN, 8 * mm, f"Page {self._pageNumber} / {total}")
            self.restoreState()

    return NumberedCanvas


def _column_widths(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    weights: Sequence[float] | None,
    total: float,
) -> list[float]:
    """Widths summing to `total`: by weight (given, or from the typical content length), but
    never narrower than the column's header words, short values (dates, codes) and ordinary
    words, so that "16/01/2026 10:00" or "Parcours" are not broken across lines."""
    sample = rows[:200]  # enough to judge; a long report must not cost a pass over every row
    if weights is None:
        weights = []
        for i, column in enumerate(columns):
            lengths = [len(row[i]) for row in sample if i < len(row)]
            typical = max(lengths) if len(lengths) < 3 else sorted(lengths)[len(lengths) * 9 // 10]
            weights.append(min(max(len(column), typical, 4), 45))
    minimum = []
    for i, column in enumerate(columns):
        words = [stringWidth(w, FONT_BOLD, CELL_SIZE) for w in column.split()] or [0.0]
        short = [
            stringWidth(row[i], FONT, CELL_SIZE)
            for row in sample
            if i < len(row) and len(row[i]) <= SHORT_VALUE
        ] or [0.0]
        # Nor narrower than an ordinary word of its content ("Accompagnement").
        short += [
            stringWidth(word, FONT, CELL_SIZE)
            for row in sample
            if i < len(row)
            for word in row[i].split()
            if len(word) <= LONG_WORD
        ]
        minimum.append(min(max(*words, *short) + 2 * CELL_PADDING + 1, total * 0.3))
    widths = [total * w / sum(weights) for w in weights]
    if sum(minimum) >= total:
        return widths
    fixed: dict[int, float] = {}
    for _ in range(len(columns)):  # each pass fixes at least one more column, or stops
        free = [i for i in range(len(columns)) if i not in fixed]
        room = total - sum(fixed.values())
        free_weight = sum(weights[i] for i in free)
        widths = [fixed.get(i, room * weights[i] / free_weight) for i in range(len(columns))]
        narrow = [i for i in free if widths[i] < minimum[i]]
        if not narrow:
            break
        fixed.update({i: minimum[i] for i in narrow})
    return widths


def _cell(text: str, width: float, style: ParagraphStyle) -> str | Paragraph:
    """A plain string when it fits on one line (fast), a wrapping Paragraph otherwise."""
    if "\n" not in text and (
        stringWidth(text, style.fontName, style.fontSize) <= width - 2 * CELL_PADDING
    ):
        return text
    return Paragraph(_markup(text), style)


def _table(section: PdfSection, frame_width: float) -> LongTable:
    columns = [pdf_text(c) for c in section.columns]
    rows = [[pdf_text(value) for value in row] for row in section.rows]
    widths = _column_widths(
        columns if section.header else [""] * len(columns), rows, section.widths, frame_width
    )
    # Without a header, the first column holds labels: in bold.
    styles = [
        _STYLES["cell_bold"] if i == 0 and not section.header else _STYLES["cell"]
        for i in range(len(columns))
    ]
    body = [[_cell(text, widths[i], styles[i]) for i, text in enumerate(row)] for row in rows]
    first = 1 if section.header else 0  # the first row of data
    commands: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), FONT, CELL_SIZE, CELL_SIZE + 2),
        ("ROWBACKGROUNDS", (0, first), (-1, -1), [colors.white, ZEBRA]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if section.header:
        data = [[Paragraph(_markup(c), _STYLES["header"]) for c in columns], *body]
        commands.append(("BACKGROUND", (0, 0), (-1, 0), BLUE))
    else:
        data = body
        commands.append(("FONT", (0, 0), (0, -1), FONT_BOLD, CELL_SIZE, CELL_SIZE + 2))
        commands.append(("LINEABOVE", (0, 0), (-1, 0), 0.25, RULE))
    table = LongTable(
        data,
        colWidths=widths,
        repeatRows=first,
        splitInRow=2 * (CELL_SIZE + 2),  # a row taller than a page splits (long notes)
        hAlign="LEFT",
    )
    table.setStyle(TableStyle(commands))
    return table


def render_report_pdf(
    *,
    title: str,
    subtitle_lines: Sequence[str],
    sections: Sequence[PdfSection],
    landscape: bool = False,
    generated_at: dt.datetime | None = None,
    subject: str = "",
) -> bytes:
    """The PDF (bytes) of a report: title, subtitle lines, then each section in order.

    `generated_at` (default now) is printed under the title and in every page's footer.
    """
    generated_at = generated_at or timezone.now()
    generated = f"Document généré le {french_datetime(generated_at)}"
    pagesize = to_landscape(A4) if landscape else A4
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=18 * mm,
        title=pdf_text(title),
        author=AUTHOR,
        creator=AUTHOR,
        subject=pdf_text(subject or title),
        lang="fr-FR",
    )
    story: list[Flowable] = [Paragraph(_markup(title), _STYLES["title"])]
    story += [Paragraph(_markup(line), _STYLES["subtitle"]) for line in subtitle_lines]
    story += [Paragraph(_markup(generated), _STYLES["subtitle"]), Spacer(1, 4 * mm)]
    outline_started = False
    for number, section in enumerate(sections):
        level = 1 if section.level <= 1 else 2
        # The outline must open with a top-level entry.
        outline_level = level - 1 if outline_started else 0
        outline_started = True
        story.append(CondPageBreak(HEADING_ROOM))
        story.append(_Bookmark(f"section-{number}", pdf_text(section.heading), outline_level))
        story.append(Paragraph(_markup(section.heading), _STYLES[f"heading{level}"]))
        story += [Paragraph(_markup(p), _STYLES["body"]) for p in section.paragraphs]
        if section.columns:
            if section.rows:
                story.append(_table(section, doc.width - 2 * FRAME_PADDING))
            else:
                story.append(Paragraph(_markup(section.empty_text), _STYLES["body"]))
    footer = pdf_text(f"{AUTHOR} — {title} — {generated}")
    if stringWidth(footer, FONT, 7.5) > pagesize[0] - 2 * MARGIN - 25 * mm:
        footer = pdf_text(f"{AUTHOR} — {generated}")
    doc.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()
