"""Resolving the acting organisation of an API request.

Partner systems send `X-Parcours-Organisation: <id>`; browser sessions choose through
`POST /api/v1/me/acting-organisation/`; otherwise the user's first membership is used.
"""

from rest_framework.permissions import BasePermission

from ..actor import Actor, actor_for
from ..errors import NoMembership

HEADER = "HTTP_X_PARCOURS_ORGANISATION"
SESSION_KEY = "acting_organisation_id"


def requested_organisation_id(request) -> int | None:
    raw = request.META.get(HEADER)
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
    actor = actor_for(request.user, requested_organisation_id(request))
    request._parcours_actor = actor
    return actor


class HasMembership(BasePermission):
    """Authenticated *and* acting for an organisation the user belongs to (else 403)."""

    message = NoMembership().message

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        try:
            request_actor(request)
        except NoMembership:
            return False
        return True
