"""Session expiry after inactivity, with a clear message.

The session lives PARCOURS_SESSION_IDLE_MINUTES after the last request (SESSION_COOKIE_AGE,
refreshed at most once a minute by SessionActivityMiddleware). A browser that comes back with a
session cookie whose session is gone was logged out by inactivity: we say so on the login page
instead of a bare redirect.
"""

import time

from django.conf import settings
from django.contrib import messages

ACTIVITY_KEY = "_activity_at"


class SessionActivityMiddleware:
    """Slides a signed-in session's idle timeout (SESSION_COOKIE_AGE) with its activity, saving
    it at most once every PARCOURS_SESSION_ACTIVITY_STAMP_SECONDS: a request that finds the last
    stamp older marks the session modified, so Django's SessionMiddleware (outside this one)
    saves it and renews the cookie. Between stamps a request writes no session row (issue 17:
    `SESSION_SAVE_EVERY_REQUEST` cost a BEGIN, an UPDATE and a COMMIT per view)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty():
            return response  # nothing to keep alive (anonymous, a token)
        now = int(time.time())
        stamped = int(session.get(ACTIVITY_KEY, 0))
        due = now - stamped >= settings.PARCOURS_SESSION_ACTIVITY_STAMP_SECONDS
        if due or session.modified:  # a session saved anyway is stamped for free
            session[ACTIVITY_KEY] = now
        return response


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


class SecondFactorMiddleware:
    """A signed-in account that has a second factor and has not typed its code in this session
    — or that must have one and has none — reaches nothing but the second-factor pages, logging
    out and the footer's public pages: pages and the admin send it there (with `next`), the
    API answers 403 in French. What the account must do is worked out once per session
    (parcours.services.account_security.second_factor_step) and kept in it; the admin site and
    the DPO pages check again (parcours/admin_site.py, web/views/dpo.py)."""

    ALLOWED = (
        "web:second-factor",
        "web:second-factor-setup",
        "web:logout",
        "web:accessibility",
        "web:legal-notice",
        "web:personal-data",
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified():
            step = self._step(request, user)
            if step and not self._allowed(request):
                refusal = self._refuse(request, step)
                if refusal is not None:
                    return refusal
        return self.get_response(request)

    @staticmethod
    def _step(request, user) -> str:
        from parcours.services.account_security import second_factor_step

        from .second_factor import STEP_SESSION_KEY

        step = request.session.get(STEP_SESSION_KEY)
        if step is None:
            step = str(second_factor_step(user))
            request.session[STEP_SESSION_KEY] = step
        return step

    def _allowed(self, request) -> bool:
        from django.urls import reverse

        allowed = {reverse(name) for name in self.ALLOWED}
        return request.path in allowed

    @staticmethod
    def _refuse(request, step: str):
        from urllib.parse import urlencode

        from django.http import JsonResponse
        from django.shortcuts import redirect
        from django.urls import reverse

        from parcours.services.account_security import SecondFactorStep

        if request.path.startswith("/api/"):
            if "HTTP_AUTHORIZATION" in request.META:
                return None  # a partner system's token: the session plays no part
            return JsonResponse(
                {
                    "detail": "Double authentification requise : terminez la connexion sur "
                    "la page « Vérification en deux étapes »."
                },
                status=403,
            )
        name = "web:second-factor" if step == SecondFactorStep.VERIFY else "web:second-factor-setup"
        return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")
