"""Where an HTTP request comes from, as the access journal records it (docs/security.md).

- **Request id**: a client's `X-Request-ID` is kept only when it matches `REQUEST_ID_PATTERN`
  (letters, digits, `.`, `_`, `-`, at most 64): anything else — markup, spaces, control
  characters, a 2 000-character header — is replaced by a generated one, as is a missing one.
  The response carries the id in its own `X-Request-ID`, for support.

`RequestOriginMiddleware` works it out once per request; the journal reads it
(`parcours/gate/journal.py`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"


def request_id_from(meta: Mapping[str, Any]) -> str:
    """The client's `X-Request-ID` when it is a plain token, else a new uuid4 (hex)."""
    sent = str(meta.get(REQUEST_ID_HEADER, ""))
    return sent if REQUEST_ID_PATTERN.fullmatch(sent) else uuid.uuid4().hex


class RequestOriginMiddleware:
    """Sets `request.request_id` once, and answers it in the response's `X-Request-ID`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.META)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
