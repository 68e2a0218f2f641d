"""The ProConnect client: the agents' sign-in, OpenID Connect through the client both sign-ins
share (web/oidc.py, with FranceConnect for the persons: web/franceconnect.py; ADR 0011).

ProConnect's own: its settings (`PROCONNECT_*`), its French messages, its views' names, and the
ID token kept in the session for the logout's `id_token_hint`.
"""

from django.http import HttpRequest, HttpResponseRedirect

from . import oidc
from .oidc import Identity

NAME = "proconnect"
# The ID token of the ProConnect session, kept for the logout's id_token_hint (also after a
# refused sign-in: the agent may end the provider's session to try another account).
ID_TOKEN_SESSION_KEY = "proconnect_id_token"  # noqa: S105 (a session key's name)

ProConnectError = oidc.OidcError
ProConnectUnavailable = oidc.OidcUnavailable

REPLAYED = (
    "Ce retour de ProConnect n'est pas (ou plus) attendu : la connexion a déjà été utilisée, "
    "a expiré ou a été lancée depuis un autre navigateur. Recommencez depuis la page de "
    "connexion."
)
UNTRUSTED = (
    "La réponse de ProConnect n'a pas pu être vérifiée (signature, émetteur, destinataire ou "
    "niveau d'authentification) : la connexion est refusée. Recommencez depuis la page de "
    "connexion."
)
UNAVAILABLE = (
    "ProConnect ne répond pas pour le moment. Réessayez dans quelques minutes, ou connectez-vous "
    "avec votre identifiant et votre mot de passe parcours si vous en avez un."
)
CANCELLED = "La connexion avec ProConnect a été interrompue. Vous pouvez recommencer."

PROVIDER = oidc.Provider(
    name=NAME,
    prefix="PROCONNECT",
    callback="web:proconnect-callback",
    logged_out="web:proconnect-logged-out",
    messages=oidc.Messages(
        replayed=REPLAYED, untrusted=UNTRUSTED, unavailable=UNAVAILABLE, cancelled=CANCELLED
    ),
)

__all__ = [
    "ID_TOKEN_SESSION_KEY",
    "Identity",
    "ProConnectError",
    "ProConnectUnavailable",
    "authorize_redirect",
    "complete",
    "confirm_logout",
    "enabled",
    "logout_redirect",
]


def enabled() -> bool:
    return PROVIDER.enabled()


def redirect_uri() -> str:
    return oidc.absolute(PROVIDER.callback)


def post_logout_redirect_uri() -> str:
    return oidc.absolute(PROVIDER.logged_out)


def authorize_redirect(request: HttpRequest) -> HttpResponseRedirect:
    return oidc.authorize_redirect(PROVIDER, request)


def complete(request: HttpRequest) -> Identity:
    return oidc.complete(PROVIDER, request)


def logout_redirect(request: HttpRequest, id_token: str) -> HttpResponseRedirect:
    return oidc.logout_redirect(PROVIDER, request, id_token)


def confirm_logout(request: HttpRequest) -> bool:
    return oidc.confirm_logout(PROVIDER, request)
