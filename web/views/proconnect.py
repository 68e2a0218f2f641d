"""Signing in with ProConnect: the button's start, the provider's way back, and the way back
after the provider's logout. The OpenID Connect work is web/proconnect.py's, who the agent is
parcours' (`parcours.services.sign_in`); these views only carry the answers to the browser.

All three answer 404 while ProConnect is not configured."""

import logging

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from stdnum.fr import siret as siret_number

from parcours.api.actor import SESSION_KEY
from parcours.services.sign_in import Outcome, ProConnectClaims, proconnect_sign_in

from .. import proconnect

logger = logging.getLogger(__name__)

NEXT_SESSION_KEY = "proconnect_next"


def _require_enabled() -> None:
    if not proconnect.enabled():
        raise Http404


def _error_page(request: HttpRequest, error: proconnect.ProConnectError) -> HttpResponse:
    unavailable = isinstance(error, proconnect.ProConnectUnavailable)
    logger.info("ProConnect sign-in not completed: %s", error)
    return render(
        request,
        "web/registration/proconnect_error.html",
        {
            "title": "ProConnect indisponible" if unavailable else "Connexion refusée",
            "message": error.message,
        },
        status=503 if unavailable else 400,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    """« S'identifier avec ProConnect »: off to the provider, where to land kept for later."""
    _require_enabled()
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path of this site only (where the login form's `next` leads): never another host.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[NEXT_SESSION_KEY] = target
    else:
        request.session.pop(NEXT_SESSION_KEY, None)
    try:
        return proconnect.authorize_redirect(request)
    except proconnect.ProConnectError as error:
        return _error_page(request, error)


# The French page of each refusal (templates/web/registration/proconnect_refused.html).
REFUSALS = {
    Outcome.UNKNOWN_ORGANISATION: "unknown_organisation",
    Outcome.AWAITING_ACTIVATION: "awaiting_activation",
    Outcome.INVALID_CLAIMS: "invalid_claims",
    Outcome.IDENTITY_CONFLICT: "identity_conflict",
}


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The provider's redirect: verify everything, then open the session for the SIRET's
    organisation — or say, in French, why not."""
    _require_enabled()
    try:
        identity = proconnect.complete(request)
    except proconnect.ProConnectError as error:
        return _error_page(request, error)
    claims = ProConnectClaims.from_userinfo(identity.claims)
    result = proconnect_sign_in(claims=claims)
    if result.outcome != Outcome.ADMITTED:
        # Kept so that « Se déconnecter de ProConnect » ends the provider's session: the agent
        # may then sign in with another account.
        request.session[proconnect.ID_TOKEN_SESSION_KEY] = identity.id_token
        return render(
            request,
            "web/registration/proconnect_refused.html",
            {
                "refusal": REFUSALS[result.outcome],
                "organisation": result.organisation,
                "siret": siret_number.format(result.siret) if result.siret else "",
                "email": claims.email,
            },
            status=403,
        )
    target = request.session.pop(NEXT_SESSION_KEY, "")
    login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
    # After login (which may start a new session): the acting organisation is the SIRET's, and
    # the ID token waits for the logout's id_token_hint.
    assert result.organisation is not None
    request.session[SESSION_KEY] = result.organisation.pk
    request.session[proconnect.ID_TOKEN_SESSION_KEY] = identity.id_token
    return redirect(target or "web:home")


@never_cache
@require_GET
def logged_out(request: HttpRequest) -> HttpResponse:
    """The provider's redirect after its logout: its state must be the one this browser sent."""
    _require_enabled()
    if proconnect.confirm_logout(request):
        messages.success(request, "Vous êtes déconnecté(e) de parcours et de ProConnect.")
    else:
        messages.warning(
            request,
            "Vous êtes déconnecté(e) de parcours. La déconnexion de ProConnect n'a pas pu être "
            "confirmée : fermez votre navigateur si l'ordinateur est partagé.",
        )
    return redirect("web:login")
