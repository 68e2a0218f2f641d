"""The OpenID Connect client both sign-ins use — ProConnect for agents (web/proconnect.py), and
FranceConnect for the persons followed (web/franceconnect.py) — with Authlib
(docs/decisions/0011-proconnect-authlib.md).

What both providers ask of a service, and where it is done:
- authorization code flow, with PKCE (S256), a random `state` and `nonce` of 32 characters or
  more kept in the browser's session, `acr_values` (eidas1): `authorize_redirect`;
- the callback: the `state` checked against the session (a replayed or forged callback finds
  none: refused), the code exchanged with the client secret (`client_secret_post`), the ID token's
  signature checked against the provider's published keys (JWKS, fetched again when a new key id
  appears), its issuer, audience, expiry, `nonce` and `acr`: `complete`;
- the userinfo endpoint answers a *signed JWT* (`application/jwt`): its signature, issuer,
  audience and subject (the ID token's) are checked the same way before any claim is read;
- logout: the provider's `end_session_endpoint` with `id_token_hint`, `state` and
  `post_logout_redirect_uri`, in the browser: `logout_redirect`, then `confirm_logout`.

A provider is a `Provider`: its settings' prefix (`<PREFIX>_CLIENT_ID`, `_CLIENT_SECRET`,
`_ISSUER`, `_SCOPES`, `_ACR_VALUES`, `_USE_PKCE`, `_TIMEOUT_SECONDS`), its views' names and its
French messages. Settings are read when used (never at import); the Authlib client is cached per
provider and configuration, so the metadata and keys are fetched once per process.
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


class OidcError(Exception):
    """The sign-in could not be completed; `message` is for the user, in French."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


class OidcUnavailable(OidcError):
    """The provider did not answer (or answered nonsense): try again later."""


@dataclass(frozen=True)
class Messages:
    replayed: str
    untrusted: str
    unavailable: str
    cancelled: str


@dataclass(frozen=True)
class Provider:
    name: str  # Authlib's registry name, and the log's
    prefix: str  # of its settings: PROCONNECT, FRANCECONNECT
    callback: str  # the view name of the way back (its absolute URL is registered)
    logged_out: str  # the view name of the way back after logout
    messages: Messages

    def setting(self, key: str) -> Any:
        return getattr(settings, f"{self.prefix}_{key}")

    def enabled(self) -> bool:
        return bool(self.setting("CLIENT_ID"))


@dataclass(frozen=True)
class Identity:
    """What the provider told: the verified userinfo's claims and the ID token."""

    claims: dict[str, Any]
    id_token: str


_clients: dict[tuple, Any] = {}


def _client(provider: Provider):
    """The Authlib client for the provider's configuration in force (one per process)."""
    key = (
        provider.name,
        provider.setting("ISSUER"),
        provider.setting("CLIENT_ID"),
        provider.setting("CLIENT_SECRET"),
        provider.setting("SCOPES"),
        provider.setting("USE_PKCE"),
        provider.setting("TIMEOUT_SECONDS"),
    )
    client = _clients.get(key)
    if client is None:
        client_kwargs: dict[str, Any] = {
            "scope": provider.setting("SCOPES"),
            "token_endpoint_auth_method": "client_secret_post",
            "default_timeout": provider.setting("TIMEOUT_SECONDS"),
            # Access tokens may live 60 seconds: with Authlib's default margin (60 s) the token
            # would count as expired before the userinfo call.
            "leeway": 5,
        }
        if provider.setting("USE_PKCE"):
            client_kwargs["code_challenge_method"] = "S256"
        oauth = OAuth()
        client = oauth.register(
            name=provider.name,
            client_id=provider.setting("CLIENT_ID"),
            client_secret=provider.setting("CLIENT_SECRET"),
            server_metadata_url=(
                provider.setting("ISSUER").rstrip("/") + "/.well-known/openid-configuration"
            ),
            client_kwargs=client_kwargs,
        )
        # A changed configuration replaces the provider's old client.
        for old in [k for k in _clients if k[0] == provider.name]:
            del _clients[old]
        _clients[key] = client
    return client


def absolute(view_name: str) -> str:
    """Redirect URIs are registered at the provider exactly: built from the public URL, never
    from the request's Host header."""
    return settings.PARCOURS_PUBLIC_URL.rstrip("/") + reverse(view_name)


def _unavailable(provider: Provider, error: Exception) -> OidcUnavailable:
    logger.warning("%s unavailable: %s", provider.name, error)
    return OidcUnavailable(provider.messages.unavailable, detail=str(error))


def authorize_redirect(provider: Provider, request: HttpRequest) -> HttpResponseRedirect:
    """Send the browser to the provider; state, nonce and PKCE verifier stay in the session."""
    try:
        return _client(provider).authorize_redirect(
            request,
            absolute(provider.callback),
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            acr_values=provider.setting("ACR_VALUES"),
        )
    except (requests.RequestException, ValueError) as error:  # discovery failed
        raise _unavailable(provider, error) from error


def _id_token_claims_options(provider: Provider, metadata: dict) -> dict:
    # Passing options replaces Authlib's default issuer check: the issuer is named again here.
    options: dict[str, Any] = {"iss": {"essential": True, "values": [metadata["issuer"]]}}
    if provider.setting("ACR_VALUES"):
        options["acr"] = {"essential": True, "values": provider.setting("ACR_VALUES").split()}
    return options


def complete(provider: Provider, request: HttpRequest) -> Identity:
    """The callback's work: state, code, ID token, signed userinfo. Raises OidcError (with a
    French message) for anything not as expected; nothing is trusted before it is checked."""
    client = _client(provider)
    words = provider.messages
    state = request.GET.get("state", "")
    # Checked first, before anything is asked of the provider: a callback this browser did not
    # start (forged), or one already used (replayed), finds no state in the session.
    if not state or not client.framework.get_state_data(request.session, state):
        raise OidcError(words.replayed, detail="state not in this session")
    if request.GET.get("error"):
        # The user cancelled at the provider, or the provider refused the request.
        client.framework.clear_state_data(request.session, state)
        raise OidcError(words.cancelled, detail=f"provider error {request.GET.get('error')}")
    try:
        metadata = client.load_server_metadata()
        token = client.authorize_access_token(
            request, claims_options=_id_token_claims_options(provider, metadata)
        )
    except MismatchingStateError as error:
        raise OidcError(words.replayed, detail="state not in this session") from error
    except requests.RequestException as error:
        raise _unavailable(provider, error) from error
    except (OAuthError, AuthlibBaseError, JoseError, KeyError, ValueError) as error:
        # OAuthError: the token endpoint refused the code (used twice, expired, wrong verifier);
        # the others: the ID token's signature, issuer, audience, nonce, acr or dates.
        raise OidcError(words.untrusted, detail=f"{type(error).__name__}: {error}") from error
    id_token_claims = token.get("userinfo")
    if not id_token_claims or not token.get("id_token"):
        raise OidcError(words.untrusted, detail="no ID token")
    claims = _userinfo(provider, client, metadata, token, subject=id_token_claims["sub"])
    return Identity(claims=claims, id_token=token["id_token"])


def _userinfo(provider: Provider, client, metadata: dict, token: dict, *, subject: str) -> dict:
    """The userinfo is a JWT signed like the ID token: checked before it is read."""
    words = provider.messages
    try:
        response = client.get(metadata["userinfo_endpoint"], token=token)
        response.raise_for_status()
    except requests.RequestException as error:
        raise _unavailable(provider, error) from error
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/jwt":
        raise OidcError(words.untrusted, detail=f"userinfo is {content_type}, not a signed JWT")
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
            aud={"essential": True, "value": provider.setting("CLIENT_ID")},
            sub={"essential": True, "value": subject},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as error:
        raise OidcError(words.untrusted, detail=f"userinfo {type(error).__name__}: {error}") from (
            error
        )
    return dict(decoded.claims)


def logout_redirect(
    provider: Provider, request: HttpRequest, id_token: str
) -> HttpResponseRedirect:
    """End the provider's session in the browser; the state waits in the (new) session."""
    try:
        return _client(provider).logout_redirect(
            request,
            post_logout_redirect_uri=absolute(provider.logged_out),
            id_token_hint=id_token,
            state=secrets.token_urlsafe(32),
        )
    except (requests.RequestException, ValueError, RuntimeError) as error:
        raise _unavailable(provider, error) from error


def confirm_logout(provider: Provider, request: HttpRequest) -> bool:
    """The provider's way back after logout: True when its state is the one this browser sent."""
    try:
        _client(provider).validate_logout_response(request)
    except OAuthError:
        return False
    return True
