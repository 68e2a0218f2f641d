"""The ProConnect client: OpenID Connect with Authlib (docs/decisions/0011-proconnect-authlib.md).

What ProConnect asks of a service (its « implémentation technique » page), and where it is done:
- authorization code flow, with PKCE (S256), a random `state` and `nonce` of 32 characters or
  more kept in the browser's session, `acr_values=eidas1`: `authorize_redirect`;
- the callback: the `state` checked against the session (a replayed or forged callback finds
  none: refused), the code exchanged with the client secret (`client_secret_post`), the ID token's
  signature checked against the provider's published keys (JWKS, fetched again when a new key id
  appears), its issuer, audience, expiry, `nonce` and `acr`: `complete`;
- the userinfo endpoint answers a *signed JWT* (`application/jwt`): its signature, issuer,
  audience and subject (the ID token's) are checked the same way before any claim is read;
- logout: the provider's `end_session_endpoint` with `id_token_hint`, `state` and
  `post_logout_redirect_uri`, in the browser (it ends the provider's session, cookies included):
  `logout_redirect`, then `confirm_logout` on the way back.

Settings are read when used (never at import); the Authlib client is cached per configuration,
so the provider's metadata and keys are fetched once per process.
"""

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

logger = logging.getLogger(__name__)

NAME = "proconnect"
# The ID token of the ProConnect session, kept for the logout's id_token_hint (also after a
# refused sign-in: the agent may end the provider's session to try another account).
ID_TOKEN_SESSION_KEY = "proconnect_id_token"  # noqa: S105 (a session key's name)


class ProConnectError(Exception):
    """The sign-in could not be completed; `message` is for the user, in French."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


class ProConnectUnavailable(ProConnectError):
    """The provider did not answer (or answered nonsense): try again later."""


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


@dataclass(frozen=True)
class Identity:
    """What ProConnect told about the agent: the verified userinfo's claims and the ID token."""

    claims: dict[str, Any]
    id_token: str


def enabled() -> bool:
    return bool(settings.PROCONNECT_CLIENT_ID)


_clients: dict[tuple, Any] = {}


def _client():
    """The Authlib client for the configuration in force (one per process and configuration)."""
    key = (
        settings.PROCONNECT_ISSUER,
        settings.PROCONNECT_CLIENT_ID,
        settings.PROCONNECT_CLIENT_SECRET,
        settings.PROCONNECT_SCOPES,
        settings.PROCONNECT_USE_PKCE,
        settings.PROCONNECT_TIMEOUT_SECONDS,
    )
    client = _clients.get(key)
    if client is None:
        client_kwargs: dict[str, Any] = {
            "scope": settings.PROCONNECT_SCOPES,
            "token_endpoint_auth_method": "client_secret_post",
            "default_timeout": settings.PROCONNECT_TIMEOUT_SECONDS,
            # ProConnect's access tokens live 60 seconds: with Authlib's default margin (60 s)
            # the token would count as expired before the userinfo call.
            "leeway": 5,
        }
        if settings.PROCONNECT_USE_PKCE:
            client_kwargs["code_challenge_method"] = "S256"
        oauth = OAuth()
        client = oauth.register(
            name=NAME,
            client_id=settings.PROCONNECT_CLIENT_ID,
            client_secret=settings.PROCONNECT_CLIENT_SECRET,
            server_metadata_url=(
                settings.PROCONNECT_ISSUER.rstrip("/") + "/.well-known/openid-configuration"
            ),
            client_kwargs=client_kwargs,
        )
        _clients.clear()  # a changed configuration replaces the old client
        _clients[key] = client
    return client


def _absolute(view_name: str) -> str:
    """Redirect URIs are registered at ProConnect exactly: built from the public URL, never from
    the request's Host header."""
    return settings.PARCOURS_PUBLIC_URL.rstrip("/") + reverse(view_name)


def redirect_uri() -> str:
    return _absolute("web:proconnect-callback")


def post_logout_redirect_uri() -> str:
    return _absolute("web:proconnect-logged-out")


def _unavailable(error: Exception) -> ProConnectUnavailable:
    logger.warning("ProConnect unavailable: %s", error)
    return ProConnectUnavailable(UNAVAILABLE, detail=str(error))


def authorize_redirect(request: HttpRequest) -> HttpResponseRedirect:
    """Send the browser to ProConnect; state, nonce and PKCE verifier stay in the session."""
    try:
        return _client().authorize_redirect(
            request,
            redirect_uri(),
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            acr_values=settings.PROCONNECT_ACR_VALUES,
        )
    except (requests.RequestException, ValueError) as error:  # discovery failed
        raise _unavailable(error) from error


def _id_token_claims_options(metadata: dict) -> dict:
    # Passing options replaces Authlib's default issuer check: the issuer is named again here.
    options: dict[str, Any] = {"iss": {"essential": True, "values": [metadata["issuer"]]}}
    if settings.PROCONNECT_ACR_VALUES:
        options["acr"] = {
            "essential": True,
            "values": settings.PROCONNECT_ACR_VALUES.split(),
        }
    return options


def complete(request: HttpRequest) -> Identity:
    """The callback's work: state, code, ID token, signed userinfo. Raises ProConnectError (with
    a French message) for anything not as expected; nothing is trusted before it is checked."""
    client = _client()
    state = request.GET.get("state", "")
    # Checked first, before anything is asked of the provider: a callback this browser did not
    # start (forged), or one already used (replayed), finds no state in the session.
    if not state or not client.framework.get_state_data(request.session, state):
        raise ProConnectError(REPLAYED, detail="state not in this session")
    if request.GET.get("error"):
        # The agent cancelled at the provider, or the provider refused the request.
        client.framework.clear_state_data(request.session, state)
        raise ProConnectError(CANCELLED, detail=f"provider error {request.GET.get('error')}")
    try:
        metadata = client.load_server_metadata()
        token = client.authorize_access_token(
            request, claims_options=_id_token_claims_options(metadata)
        )
    except MismatchingStateError as error:
        raise ProConnectError(REPLAYED, detail="state not in this session") from error
    except requests.RequestException as error:
        raise _unavailable(error) from error
    except (OAuthError, AuthlibBaseError, JoseError, KeyError, ValueError) as error:
        # OAuthError: the token endpoint refused the code (used twice, expired, wrong verifier);
        # the others: the ID token's signature, issuer, audience, nonce, acr or dates.
        raise ProConnectError(UNTRUSTED, detail=f"{type(error).__name__}: {error}") from error
    id_token_claims = token.get("userinfo")
    if not id_token_claims or not token.get("id_token"):
        raise ProConnectError(UNTRUSTED, detail="no ID token")
    claims = _userinfo(client, metadata, token, subject=id_token_claims["sub"])
    return Identity(claims=claims, id_token=token["id_token"])


def _userinfo(client, metadata: dict, token: dict, *, subject: str) -> dict[str, Any]:
    """ProConnect's userinfo is a JWT signed like the ID token: checked before it is read."""
    try:
        response = client.get(metadata["userinfo_endpoint"], token=token)
        response.raise_for_status()
    except requests.RequestException as error:
        raise _unavailable(error) from error
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/jwt":
        raise ProConnectError(UNTRUSTED, detail=f"userinfo is {content_type}, not a signed JWT")
    algorithms = metadata.get("userinfo_signing_alg_values_supported") or ["RS256", "ES256"]
    registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
    try:
        try:
            decoded = jwt.decode(
                response.text, KeySet.import_key_set(client.fetch_jwk_set()), registry=registry
            )
        except InvalidKeyIdError:  # the provider rotated its keys since they were fetched
            keys = KeySet.import_key_set(client.fetch_jwk_set(force=True))
            decoded = jwt.decode(response.text, keys, registry=registry)
        jwt.JWTClaimsRegistry(
            leeway=120,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": settings.PROCONNECT_CLIENT_ID},
            sub={"essential": True, "value": subject},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise ProConnectError(
            UNTRUSTED, detail=f"userinfo {type(error).__name__}: {error}"
        ) from error
    return dict(decoded.claims)


def logout_redirect(request: HttpRequest, id_token: str) -> HttpResponseRedirect:
    """End the provider's session in the browser; the state waits in the (new) session."""
    try:
        return _client().logout_redirect(
            request,
            post_logout_redirect_uri=post_logout_redirect_uri(),
            id_token_hint=id_token,
            state=secrets.token_urlsafe(32),
        )
    except (requests.RequestException, ValueError, RuntimeError) as error:
        raise _unavailable(error) from error


def confirm_logout(request: HttpRequest) -> bool:
    """The provider's way back after logout: True when its state is the one this browser sent."""
    try:
        _client().validate_logout_response(request)
    except OAuthError:
        return False
    return True
