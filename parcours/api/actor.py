"""Resolving the acting organisation of an API request.

A partner system's token acts for its own organisation only (an `X-Parcours-Organisation`
naming another answers 403); browser sessions choose through
`POST /api/v1/me/acting-organisation/` or send the header; otherwise the user's first
membership is used.
"""

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from ..actor import Actor, actor_for
from ..errors import NoMembership
from .token_auth import request_token, token_scope_refusal

HEADER = "HTTP_X_PARCOURS_ORGANISATION"
SESSION_KEY = "acting_organisation_id"


def requested_organisation_id(request) -> int | None:
    raw = request.META.get(HEADER)
    token = request_token(request)
    if token is not None:
        # The token's organisation; a header naming another is refused (never the session's).
        if raw not in (None, "") and raw != str(token.organisation_id):
            return -1
        return token.organisation_id
    if not raw and hasattr(request, "session"):
        raw = request.session.get(SESSION_KEY)
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return -1  # an id nobody has: answered as "not a member"


def request_actor(request) -> Actor:
    cached = getattr(request, "_parcours_actor", None)
    if cached is not None:
        return cached
    token = request_token(request)
    organisation_id = requested_organisation_id(request)
    role = getattr(token, "acting_role", None)
    if token is not None and role is not None and organisation_id == token.organisation_id:
        # Found with the token (services/api_token.py): its account's active membership there.
        actor = Actor(user=token.account, organisation=token.organisation, role=role)
    else:
        actor = actor_for(request.user, organisation_id)
    request._parcours_actor = actor
    return actor


class HasMembership(BasePermission):
    """Authenticated *and* acting for an organisation the user belongs to (else 403); with a
    token, also within its scopes (parcours/api_scopes.py; else 403 naming the scope missing)."""

    message = NoMembership().message

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        try:
            request_actor(request)
        except NoMembership:
            return False
        refusal = token_scope_refusal(request, view)
        if refusal is not None:
            raise exceptions.PermissionDenied(refusal)
        return True
