"""The FranceConnect client: the persons' sign-in to their own space (issue 19), OpenID Connect
through the client ProConnect uses too (web/oidc.py, ADR 0011). FranceConnect's own: its
settings (`FRANCECONNECT_*`, off unless a client id is set), its French messages, its views."""

from django.http import HttpRequest, HttpResponseRedirect

from . import oidc
from .oidc import Identity

# The ID token of the FranceConnect session, for the logout's id_token_hint.
ID_TOKEN_SESSION_KEY = "franceconnect_id_token"  # noqa: S105 (a session key's name)

PROVIDER = oidc.Provider(
    name="franceconnect",
    prefix="FRANCECONNECT",
    callback="web:person-space-franceconnect-callback",
    logged_out="web:person-space-franceconnect-logged-out",
    messages=oidc.Messages(
        replayed=(
            "Ce retour de FranceConnect n'est pas (ou plus) attendu : la connexion a déjà été "
            "utilisée, a expiré ou a été lancée depuis un autre navigateur. Recommencez."
        ),
        untrusted=(
            "La réponse de FranceConnect n'a pas pu être vérifiée : la connexion est refusée. "
            "Recommencez."
        ),
        unavailable=(
            "FranceConnect ne répond pas pour le moment. Réessayez dans quelques minutes, ou "
            "recevez un code par e-mail."
        ),
        cancelled="La connexion avec FranceConnect a été interrompue. Vous pouvez recommencer.",
    ),
)


def enabled() -> bool:
    return PROVIDER.enabled()


def authorize_redirect(request: HttpRequest) -> HttpResponseRedirect:
    return oidc.authorize_redirect(PROVIDER, request)


def complete(request: HttpRequest) -> Identity:
    return oidc.complete(PROVIDER, request)


def logout_redirect(request: HttpRequest, id_token: str) -> HttpResponseRedirect:
    return oidc.logout_redirect(PROVIDER, request, id_token)


def confirm_logout(request: HttpRequest) -> bool:
    return oidc.confirm_logout(PROVIDER, request)
