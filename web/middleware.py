"""Session expiry after inactivity, with a clear message.

The session lives PARCOURS_SESSION_IDLE_MINUTES after the last request (SESSION_COOKIE_AGE,
refreshed on every request). A browser that comes back with a session cookie whose session is
gone was logged out by inactivity: we say so on the login page instead of a bare redirect.
"""

from django.conf import settings
from django.contrib import messages


class SessionExpiryMessageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        had_cookie = settings.SESSION_COOKIE_NAME in request.COOKIES
        if (
            had_cookie
            and not request.user.is_authenticated
            and request.session.is_empty()
            and not request.path.startswith("/api/")
        ):
            messages.warning(
                request,
                f"Votre session a expiré après {settings.PARCOURS_SESSION_IDLE_MINUTES} minutes "
                "d'inactivité : reconnectez-vous pour continuer.",
            )
        return self.get_response(request)
