"""The relay's e-mails written straight to the bytes SMTP is handed (issue 17, docs/decisions/0006,
« Amendment — issue 17: a lean MIME writer »).

Django's `EmailMultiAlternatives.message().as_bytes()` builds a tree of `email` package objects,
then walks it with the generator, folding and encoding every header through `email.header` —
about two thirds of the CPU an e-mail cost the relay. Every e-mail of the outbox has one shape
(`mail_parts.email_of`): multipart/alternative, a plain-text part and an HTML part, both UTF-8,
headers Subject, From, To, Date, Message-ID and a few of our own. For that shape this module
writes the bytes itself:

* headers in Django's order (Content-Type, MIME-Version, Subject, From, To, Date unless given,
  Message-ID unless given, then the extra headers in their order); a CR or LF in any value is
  refused with Django's `BadHeaderError`, as Django does (header injection);
* printable ASCII values as they are, folded before a space past 78 characters; anything else
  (non-ASCII, control characters, leading white space, a word too long to fold, text that reads
  as an encoded-word) as RFC 2047 encoded-words (base64, whole characters per word, ≤ 76
  characters per line); address headers (From, To) exactly as Django writes them
  (`sanitize_address` for non-ASCII ones), cached per value — they repeat from one e-mail to
  the next, nothing rendered for one recipient is kept;
* bodies as Django encodes them: 7bit or 8bit with CRLF line ends, quoted-printable when a line
  would pass 998 octets; a random boundary that appears in neither body.

Anything else — attachments, Cc or Reply-To, a charset other than UTF-8, another alternative, an
extra header that would replace one written here, text that cannot be encoded — returns None:
the caller falls back to Django's own path. tests/notifications/test_mail_writer.py builds the
same e-mails both ways, over many generated cases, and compares them parsed.
"""

import binascii
import functools
import random
import re
from email.utils import formatdate, getaddresses

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import BadHeaderError, sanitize_address

CRLF = b"\r\n"
# RFC 5322: a line is at most 998 octets; 78 is the width headers are folded to.
LINE_LIMIT = 998
FOLD_AT = 78
# RFC 2047: an encoded-word is at most 75 characters, a line holding one at most 76.
WORD_LINE = 76
_WORD_START, _WORD_END = "=?utf-8?b?", "?="

# Headers this module writes itself: an extra header with one of these names is a shape it does
# not know (Django's path then decides what wins).
_WRITTEN = frozenset(
    {
        "content-type",
        "content-transfer-encoding",
        "mime-version",
        "subject",
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
    }
)
# A header name: printable ASCII but the colon (RFC 5322 ftext).
_NAME = re.compile(r"[!-9;-~]+\Z")
# Printable ASCII, space and tab, not starting with white space: written as it is.
_PLAIN = re.compile(r"[!-~][ -~\t]*\Z")
_PRINTABLE = re.compile(r"[ -~\t]*\Z")


def smtp_bytes(email: EmailMessage) -> bytes:
    """What SMTP's DATA is handed for `email`: the lean writer's bytes, or Django's for a shape
    the writer does not know (the same as Django's SMTP backend would send)."""
    data = lean_bytes(email)
    if data is None:
        # Django's SafeMIME classes take `linesep` (the stubs say email's plain Message).
        data = email.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
    return data


@functools.lru_cache(maxsize=4096)
def envelope_address(address: str, encoding: str) -> str:
    """Django's `sanitize_address` for the SMTP envelope, cached: the sender is always the same
    and recipients come back (an address, nothing else about the e-mail, is kept)."""
    return sanitize_address(address, encoding)


def lean_bytes(email: EmailMessage) -> bytes | None:
    """The e-mail's bytes with CRLF line ends, as SMTP is handed them, or None when its shape is
    not the outbox's (the caller then uses Django's `message().as_bytes()`). Raises
    `BadHeaderError` for a CR or LF in a header value, as Django does."""
    if not _known_shape(email):
        return None
    extra = {str(name): value for name, value in email.extra_headers.items()}
    given = {name.lower() for name in extra}
    if "message-id" not in given:
        return None  # the outbox always gives one (deterministic); Django makes the others
    html = str(email.alternatives[0][0])  # type: ignore[attr-defined]  # a str: _known_shape
    try:
        parts = [_part("plain", str(email.body))] if email.body else []
        parts.append(_part("html", html))
        lines = [b"", b"MIME-Version: 1.0", _unstructured("Subject", str(email.subject))]
        lines.append(_address("From", str(email.from_email)))
        if email.to:
            lines.append(_address("To", ", ".join(str(v) for v in email.to)))
        if "date" not in given:
            date = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
            lines.append(b"Date: " + date.encode("ascii"))
        lines.extend(_unstructured(name, str(value)) for name, value in extra.items())
    except (UnicodeEncodeError, _Unwritable):
        return None  # lone surrogates, an unfoldable address: Django's path decides
    boundary = _boundary(parts)
    lines[0] = b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"'
    out = [CRLF.join(lines), CRLF, CRLF]
    for part in parts:
        out += [b"--", boundary, CRLF, part, CRLF]
    out += [b"--", boundary, b"--", CRLF]
    return b"".join(out)


class _Unwritable(Exception):
    """A value this writer does not write (Django's path then does)."""


def _known_shape(email: EmailMessage) -> bool:
    if type(email) is not EmailMultiAlternatives:
        return False
    if email.attachments or email.cc or email.reply_to:
        return False
    if (email.encoding or settings.DEFAULT_CHARSET).lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
    ):
        return False
    if email.content_subtype != "plain" or email.alternative_subtype != "alternative":  # type: ignore[attr-defined]
        return False
    alternatives = email.alternatives
    if len(alternatives) != 1 or alternatives[0][1] != "text/html":
        return False
    if not isinstance(alternatives[0][0], str) or not isinstance(email.body, str):
        return False
    return all(
        isinstance(name, str) and _NAME.match(name) and name.lower() not in _WRITTEN
        for name in email.extra_headers
    )


# --- Bodies --------------------------------------------------------------------------------

# A part's headers, by subtype and transfer encoding: the same bytes for every e-mail.
_PART_HEADERS = {
    (subtype, cte): (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"MIME-Version: 1.0\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode()
    for subtype in ("plain", "html")
    for cte in ("7bit", "8bit", "quoted-printable")
}


def _part(subtype: str, text: str) -> bytes:
    """A text part: its headers and its body, CRLF line ends. As Django: no transfer encoding
    (7bit, or 8bit when not ASCII) unless a line would pass 998 octets (quoted-printable)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.encode("utf-8")
    if len(data) > LINE_LIMIT and max(map(len, data.split(b"\n"))) > LINE_LIMIT:
        cte = "quoted-printable"
        data = binascii.b2a_qp(data, istext=True)
    else:
        cte = "7bit" if data.isascii() else "8bit"
    return _PART_HEADERS[subtype, cte] + data.replace(b"\n", CRLF)


def _boundary(parts: list[bytes]) -> bytes:
    """As the `email` package makes them, drawn again in the (unlikely) case a body holds it."""
    while True:
        # Not a secret: only unlikely to occur in a body (and checked).
        boundary = b"===============%019d==" % random.randrange(2**63 - 1)  # noqa: S311
        if not any(boundary in part for part in parts):
            return boundary


# --- Headers -------------------------------------------------------------------------------


def _refuse_line_breaks(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise BadHeaderError(
            f"Header values can't contain newlines (got {value!r} for header {name!r})"
        )


def _unstructured(name: str, value: str) -> bytes:
    """`Name: value`, folded; encoded-words only when the value needs them."""
    _refuse_line_breaks(name, value)
    if _PLAIN.match(value) and "=?" not in value:
        folded = _fold_ascii(f"{name}: {value}")
        if folded is not None:
            return folded
    elif not value:
        return f"{name}: ".encode()
    return _encoded_words(name, value)


def _fold_ascii(line: str, width: int = FOLD_AT) -> bytes | None:
    """Folded before a space where the line passes `width` (unfolding gives back the value
    exactly); None if a word would still leave a line over LINE_LIMIT."""
    if len(line) <= width:
        return line.encode("ascii")
    pieces, start = [], 0
    while len(line) - start > width:
        cut = line.rfind(" ", start + 1, start + width + 1)
        if cut <= start:
            cut = line.find(" ", start + width + 1)
            if cut == -1:
                break
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    if any(len(piece) > LINE_LIMIT for piece in pieces):
        return None
    return "\r\n".join(pieces).encode("ascii")


def _encoded_words(name: str, value: str) -> bytes:
    """The whole value as base64 encoded-words of whole UTF-8 characters, one per line of at most
    WORD_LINE characters (the first shares its line with the name, if there is room)."""
    data = value.encode("utf-8")
    room = (WORD_LINE - len(name) - 2 - len(_WORD_START) - len(_WORD_END)) // 4 * 3
    # Later lines: a space, then the word.
    later = (WORD_LINE - 1 - len(_WORD_START) - len(_WORD_END)) // 4 * 3
    words: list[str] = []
    start = 0
    size = room if room >= 6 else later
    lead = f"{name}: " if room >= 6 else f"{name}:"
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and 0x80 <= data[end] < 0xC0:
            end -= 1  # never cut a character in two
        chunk = binascii.b2a_base64(data[start:end], newline=False).decode("ascii")
        words.append(_WORD_START + chunk + _WORD_END)
        start, size = end, later
    return (lead + "\r\n ".join(words)).encode("ascii")


@functools.lru_cache(maxsize=4096)
def _address(name: str, value: str) -> bytes:
    """An address header as Django writes it: ASCII as given, otherwise each address through
    `sanitize_address`. Cached: the sender is always the same, recipients come back."""
    _refuse_line_breaks(name, value)
    if not value.isascii():
        encoding = settings.DEFAULT_CHARSET
        value = ", ".join(sanitize_address(addr, encoding) for addr in getaddresses((value,)))
    if not _PRINTABLE.match(value):
        raise _Unwritable(name)  # control characters: Django's generator decides what they become
    # Lines holding encoded-words: at most 76 characters (RFC 2047).
    folded = _fold_ascii(f"{name}: {value}", WORD_LINE if "=?" in value else FOLD_AT)
    if folded is None:
        raise _Unwritable(name)
    return folded
