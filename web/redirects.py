"""Where a page may send the user back to after a POST (`next`): a path of this site only.

Django's `url_has_allowed_host_and_scheme` refuses other hosts and schemes, but lets through
paths holding spaces, control characters (a vertical tab, a NUL in the Location header) or
non-ASCII ones (an ideographic space, a fullwidth solidus), which browsers and proxies do not all
read alike. So the target must also be made of the characters of a URL's path and query alone,
and start with one slash, never two nor a slash and a backslash (issue 15).
"""

import re

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

# RFC 3986's unreserved, sub-delims, ":" "@" "/" "%" (escapes), "?" and "#"; no backslash.
SAME_SITE_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]*")
MAX_LENGTH = 2000


def same_site_path(target: str, request: HttpRequest, *, fallback: str) -> str:
    """`target` when it is a path of this site, else `fallback`."""
    if (
        len(target) <= MAX_LENGTH
        and SAME_SITE_PATH.fullmatch(target)
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback
