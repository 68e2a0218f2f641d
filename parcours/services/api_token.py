"""Partner systems' API tokens: made, renewed and revoked by the organisation's administrators;
checked on every API request that carries one (docs/security.md, « Jetons d'accès »).

- `api_token_create` makes a token for one system of the acting organisation, acting as one of
  its members or as a new technical account (no password, one membership with the role chosen);
  the secret is returned once and only its SHA-256 digest is kept (a 256-bit random secret needs
  no slow hash: nobody can search that space, and the digest finds the row in one index lookup).
- `api_token_renew` makes its successor (same system, account, scopes, rate and lifetime) and
  lets the old one work `PARCOURS_API_TOKEN_RENEWAL_GRACE_HOURS` more, so the system switches
  without downtime.
- `api_token_revoke` stops it at once; `api_tokens_revoke_for_password_change` stops every token of
  an account whose password changed (`parcours.passwords.RevokeApiTokensOnPasswordChange`, which
  Django calls for every password set through `set_password` and saved).
- `api_token_authenticate` finds the token a request presents, refuses it with a French reason
  when expired, revoked or its account disabled, and stamps its last use at most once a minute.

Every change is a journal row (operations `token_*`) with the token's organisation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .. import api_scopes, gate
from ..actor import Actor
from ..compiled import CompiledQuery
from ..errors import InvalidInput
from ..gate.journal import record_token_event
from ..models import AccessOperation, ApiToken, Membership, Role
from ..models.api_token import ApiTokenRevocation, ApiTokenStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SECRET_PREFIX = "prc_"  # noqa: S105 (a prefix, not a secret)
SHOWN_PREFIX_LENGTH = len(SECRET_PREFIX) + 8
# The roles a technical account may be given: it works on records or reads the DPO's reports;
# it never administers (a token never makes tokens) — docs/security.md.
TECHNICAL_ROLES = (Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.MANAGER, Role.DPO)
TECHNICAL_USERNAME = "systeme-"
LAST_USE_STAMP_EVERY = dt.timedelta(minutes=1)
SYSTEM_NAME_MAX = 120
MAX_RATE = 6000


@dataclass(frozen=True)
class IssuedToken:
    """A token just made: the secret is here, and nowhere else, ever."""

    token: ApiToken
    secret: str


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _new_secret() -> tuple[str, str, str]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[:SHOWN_PREFIX_LENGTH], digest_of(secret)


def is_technical_account(user: User) -> bool:
    return user.get_username().startswith(TECHNICAL_USERNAME) and not user.has_usable_password()


# --- validation ---------------------------------------------------------------------------------


def _clean_system_name(value: str) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise InvalidInput(
            "Nommez le système qui utilisera ce jeton.",
            fields={"system_name": ["Nommez le système (par exemple « Logiciel rSa »)."]},
        )
    if len(name) > SYSTEM_NAME_MAX or re.search(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", name):
        raise InvalidInput(
            "Nom de système invalide.",
            fields={
                "system_name": [
                    f"{SYSTEM_NAME_MAX} caractères au plus, sans caractère de contrôle."
                ]
            },
        )
    return name


def _clean_scopes(values) -> list[str]:
    chosen = [str(v) for v in (values or [])]
    unknown = sorted(set(chosen) - set(api_scopes.SCOPES))
    if unknown:
        raise InvalidInput(
            "Portée inconnue.",
            fields={"scopes": [f"Portée inconnue : {', '.join(unknown)[:200]}."]},
        )
    if not chosen:
        raise InvalidInput(
            "Choisissez au moins une portée.",
            fields={"scopes": ["Choisissez au moins une famille de données et son accès."]},
        )
    return [s for s in api_scopes.SCOPES if s in set(chosen)]


def _clean_days(value) -> int:
    limit = settings.PARCOURS_API_TOKEN_MAX_DAYS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InvalidInput(
            "Durée de validité invalide.",
            fields={"valid_days": [f"Entre 1 et {limit} jours."]},
        )
    return value


def _clean_rate(value) -> int:
    if value is None:
        return settings.PARCOURS_API_TOKEN_REQUESTS_PER_MINUTE
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RATE:
        raise InvalidInput(
            "Débit invalide.",
            fields={"requests_per_minute": [f"Entre 1 et {MAX_RATE} requêtes par minute."]},
        )
    return value


# --- reads --------------------------------------------------------------------------------------


def api_tokens_of(actor: Actor):
    """The acting organisation's tokens, for its administrators (404 for anyone else's)."""
    gate.require(actor, gate.Action.ADMINISTER_ORGANISATION)
    return ApiToken.objects.filter(organisation=actor.organisation).select_related(
        "account", "created_by", "revoked_by", "replaced_by"
    )


def api_token_members(actor: Actor):
    """The members a token may act as: the organisation's active memberships."""
    gate.require(actor, gate.Action.ADMINISTER_ORGANISATION)
    return (
        Membership.objects.filter(organisation=actor.organisation, is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )


def _token_of(actor: Actor, token_id) -> ApiToken:
    try:
        pk = int(token_id)
    except (TypeError, ValueError):
        raise ApiToken.DoesNotExist() from None
    token = (
        api_tokens_of(actor).select_for_update(of=("self",)).filter(pk=pk).first()
        if transaction.get_connection().in_atomic_block
        else api_tokens_of(actor).filter(pk=pk).first()
    )
    if token is None:
        raise ApiToken.DoesNotExist()
    return token


# --- writes -------------------------------------------------------------------------------------


def technical_account_create(organisation, system_name: str, role: str) -> User:
    """The account a system acts as: no password, one membership with `role`."""
    users = get_user_model()
    # The name is the system's (first_name); the username only has to be unique — and must not
    # look like a code (an organisation kind in a slug) where pages show it.
    username = f"{TECHNICAL_USERNAME}{organisation.pk}-{secrets.token_hex(4)}"
    user = users(username=username, first_name=system_name[:150], last_name="(système)")
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def _account_for(actor: Actor, *, member_id, role, system_name: str) -> User:
    if member_id not in (None, ""):
        membership = (
            api_token_members(actor).filter(user_id=_int_or_none(member_id)).first()
            if _int_or_none(member_id) is not None
            else None
        )
        if membership is None:
            raise InvalidInput(
                "Compte inconnu.",
                fields={"member": ["Choisissez un membre actif de votre organisation."]},
            )
        return membership.user
    if role not in TECHNICAL_ROLES:
        raise InvalidInput(
            "Rôle du compte technique invalide.",
            fields={
                "role": [
                    "Choisissez le rôle du compte technique : conseiller, travailleur social, "
                    "responsable de structure ou délégué à la protection des données."
                ]
            },
        )
    return technical_account_create(actor.organisation, system_name, role)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def api_token_seed(*, organisation, system_name: str, role: str, scopes, secret: str) -> ApiToken:
    """A token with a secret chosen in advance — the demo's alone (`seed_demo`), so that
    `make run` can print one; never for a real deployment (its secret is public)."""
    now = timezone.now()
    return ApiToken.objects.create(
        organisation=organisation,
        system_name=system_name,
        account=technical_account_create(organisation, system_name, role),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        digest=digest_of(secret),
        scopes=_clean_scopes(scopes),
        requests_per_minute=settings.PARCOURS_API_TOKEN_REQUESTS_PER_MINUTE,
        created_at=now,
        expires_at=now + dt.timedelta(days=settings.PARCOURS_API_TOKEN_MAX_DAYS),
    )


def api_token_create(
    actor: Actor,
    *,
    system_name: str,
    scopes,
    valid_days: int,
    member_id=None,
    role: str | None = None,
    requests_per_minute: int | None = None,
) -> IssuedToken:
    """A token for a system of the actor's organisation (its administrators only)."""
    gate.require(actor, gate.Action.ADMINISTER_ORGANISATION)
    name = _clean_system_name(system_name)
    chosen = _clean_scopes(scopes)
    days = _clean_days(valid_days)
    rate = _clean_rate(requests_per_minute)
    with transaction.atomic():
        account = _account_for(actor, member_id=member_id, role=role, system_name=name)
        now = timezone.now()
        secret, prefix, digest = _new_secret()
        token = ApiToken.objects.create(
            organisation=actor.organisation,
            system_name=name,
            account=account,
            prefix=prefix,
            digest=digest,
            scopes=chosen,
            requests_per_minute=rate,
            created_at=now,
            created_by=actor.user,
            expires_at=now + dt.timedelta(days=days),
        )
        record_token_event(actor, AccessOperation.TOKEN_CREATED, token)
    return IssuedToken(token=token, secret=secret)


def api_token_renew(actor: Actor, *, token_id) -> IssuedToken:
    """Its successor, with the same lifetime; the old one works a grace period more."""
    gate.require(actor, gate.Action.ADMINISTER_ORGANISATION)
    with transaction.atomic():
        old = _token_of(actor, token_id)
        now = timezone.now()
        # Only an active token renews: not revoked, expired or already renewed (one rule, the
        # model's status, shown by the pages and the API alike).
        if old.status(now) != ApiTokenStatus.ACTIVE:
            raise InvalidInput(
                "Ce jeton ne peut plus être renouvelé : il est expiré, révoqué ou déjà "
                "renouvelé. Créez-en un nouveau."
            )
        lifetime = max(old.expires_at - old.created_at, dt.timedelta(days=1))
        secret, prefix, digest = _new_secret()
        token = ApiToken.objects.create(
            organisation=old.organisation,
            system_name=old.system_name,
            account=old.account,
            prefix=prefix,
            digest=digest,
            scopes=old.scopes,
            requests_per_minute=old.requests_per_minute,
            created_at=now,
            created_by=actor.user,
            expires_at=now + lifetime,
            replaces=old,
        )
        grace = now + dt.timedelta(hours=settings.PARCOURS_API_TOKEN_RENEWAL_GRACE_HOURS)
        if old.expires_at > grace:
            old.expires_at = grace
            old.save(update_fields=["expires_at"])
        record_token_event(actor, AccessOperation.TOKEN_RENEWED, token, detail={"replaces": old.pk})
    return IssuedToken(token=token, secret=secret)


def api_token_revoke(actor: Actor, *, token_id) -> ApiToken:
    gate.require(actor, gate.Action.ADMINISTER_ORGANISATION)
    with transaction.atomic():
        token = _token_of(actor, token_id)
        if token.revoked_at is not None:
            return token  # revoking twice changes nothing
        token.revoked_at = timezone.now()
        token.revoked_by = actor.user
        token.revocation = ApiTokenRevocation.BY_ADMINISTRATOR
        token.save(update_fields=["revoked_at", "revoked_by", "revocation"])
        record_token_event(actor, AccessOperation.TOKEN_REVOKED, token)
    return token


def api_tokens_revoke_for_password_change(*, account: User) -> int:
    """Revoke every usable token acting as `account` (its password just changed)."""
    now = timezone.now()
    with transaction.atomic():
        tokens = list(
            ApiToken.objects.select_for_update()
            .filter(account=account, revoked_at__isnull=True, expires_at__gt=now)
            .select_related("organisation")
        )
        for token in tokens:
            token.revoked_at = now
            token.revocation = ApiTokenRevocation.PASSWORD_CHANGED
            token.save(update_fields=["revoked_at", "revocation"])
            record_token_event(
                None, AccessOperation.TOKEN_REVOKED, token, user=account, detail={"by": "password"}
            )
    return len(tokens)


# --- a request presenting a token ---------------------------------------------------------------


class TokenRefused(Exception):
    """The token presented cannot be used; `message` says why, in French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


UNKNOWN = "Jeton d'accès inconnu."


def _when(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y à %H:%M")


def _token_by_digest(digest: str):
    return (
        ApiToken.objects.select_related("account", "organisation")
        # The account's role in the token's organisation, in the same query: the request's actor
        # needs no other lookup (parcours.api.actor.request_actor; issue 17).
        .annotate(
            acting_role=Subquery(
                Membership.objects.filter(
                    user_id=OuterRef("account_id"),
                    organisation_id=OuterRef("organisation_id"),
                    is_active=True,
                ).values("role")[:1]
            )
        )
        .filter(digest=digest)
        .order_by("pk")[:1]
    )


# Compiled once per process: building and compiling this query was 1.4 of the 2.2 ms of CPU the
# token check cost every API request (issue 17; parcours/compiled.py).
_TOKEN_BY_DIGEST = CompiledQuery(ApiToken, _token_by_digest, "digest", prepared=True)


def api_token_authenticate(secret: str, *, client_ip: str | None = None) -> ApiToken:
    """The token `secret` names, usable now; TokenRefused otherwise."""
    if not secret or len(secret) > 200:
        raise TokenRefused(UNKNOWN)
    digest = digest_of(secret)
    token = _TOKEN_BY_DIGEST.first(digest=digest)
    if token is None or not secrets.compare_digest(token.digest, digest):
        raise TokenRefused(UNKNOWN)
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused(
            f"Jeton d'accès révoqué le {_when(token.revoked_at)} "
            f"({token.get_revocation_display().lower()}) : demandez-en un nouveau à "
            "l'administrateur de votre organisation."
        )
    if token.expires_at <= now:
        raise TokenRefused(
            f"Jeton d'accès expiré le {_when(token.expires_at)} : demandez-en un "
            "nouveau à l'administrateur de votre organisation."
        )
    if not token.account.is_active:
        raise TokenRefused("Le compte de ce jeton d'accès est désactivé.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_STAMP_EVERY:
        # At most one write a minute per token, whatever the request rate.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=client_ip)
        token.last_used_at, token.last_used_ip = now, client_ip
    return token
