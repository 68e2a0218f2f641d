"""Request parsers. A body nested deeper than Python's recursion limit is bad input (400),
not a crash: DRF's JSONParser only turns ValueError into a ParseError."""

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("JSON trop profondément imbriqué.")) from exc
