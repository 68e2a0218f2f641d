"""Where an HTTP request comes from, as the access journal records it: its id and the client's
address (docs/security.md; docs/operations.md, "Behind a reverse proxy").

- **Request id**: a client's `X-Request-ID` is kept only when it matches `REQUEST_ID_PATTERN`
  (letters, digits, `.`, `_`, `-`, at most 64): anything else — markup, spaces, control
  characters, a 2 000-character header — is replaced by a generated one, as is a missing one.
  The response carries the id in its own `X-Request-ID`, for support.
- **Client address**: `REMOTE_ADDR` is the direct peer — behind a reverse proxy, the proxy.
  `X-Forwarded-For` is read only when that peer is one of `PARCOURS_TRUSTED_PROXIES` (addresses
  or networks, none by default): walking the list from the right, the trusted proxies are
  skipped and the first other address is the client (the left part of the list is whatever the
  client sent, never trusted). An unreadable entry stops the walk at the last trusted hop.

`RequestOriginMiddleware` works both out once per request; the journal reads them
(`parcours/gate/journal.py`). No Django model is imported here: the settings parse
`PARCOURS_TRUSTED_PROXIES` with `parse_trusted_proxies` at start-up.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
FORWARDED_FOR_HEADER = "HTTP_X_FORWARDED_FOR"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(values: Iterable[str]) -> list[str]:
    """The setting's entries, checked at start-up (an address or a CIDR network each)."""
    entries = [value.strip() for value in values if value.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"PARCOURS_TRUSTED_PROXIES : « {entry} » n'est ni une adresse IP ni un réseau "
                "(ex. 10.0.0.5 ou 10.0.0.0/24), séparés par des virgules."
            ) from None
    return entries


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_networks() -> tuple[IPNetwork, ...]:
    return _networks(tuple(getattr(settings, "PARCOURS_TRUSTED_PROXIES", ())))


def _address(value: Any) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None


def _is_trusted(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def request_id_from(meta: Mapping[str, Any]) -> str:
    """The client's `X-Request-ID` when it is a plain token, else a new uuid4 (hex)."""
    sent = str(meta.get(REQUEST_ID_HEADER, ""))
    return sent if REQUEST_ID_PATTERN.fullmatch(sent) else uuid.uuid4().hex


def client_ip_from(
    meta: Mapping[str, Any], networks: Iterable[IPNetwork] | None = None
) -> str | None:
    """The client's address: the direct peer, or — when the peer is a trusted proxy — the
    right-most address of `X-Forwarded-For` that is not a trusted proxy. None when the peer's
    address is unreadable."""
    networks = trusted_networks() if networks is None else tuple(networks)
    client = _address(meta.get("REMOTE_ADDR", ""))
    if client is None or not _is_trusted(client, networks):
        return str(client) if client is not None else None
    hops = str(meta.get(FORWARDED_FOR_HEADER, "")).split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage: the last trusted hop is all that is known
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)


def client_ip_for(request: Any) -> str | None:
    """The client's address, as `RequestOriginMiddleware` set it (the direct peer, or behind a
    trusted proxy the address it forwarded); worked out where no middleware ran. None when
    unreadable. A DRF Request wraps the HttpRequest: the middleware's attribute is on the latter."""
    http_request: Any = getattr(request, "_request", request)
    if hasattr(http_request, "client_ip"):
        return http_request.client_ip
    return client_ip_from(http_request.META)


class RequestOriginMiddleware:
    """Sets `request.request_id` and `request.client_ip` once, and answers the request id in
    the response's `X-Request-ID`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.META)
        request.client_ip = client_ip_from(request.META)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response
