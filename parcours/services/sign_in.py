"""Who a verified ProConnect identity is in parcours (issue 15).

The claims come from `web/proconnect.py`, already checked (signatures, issuer, audience, nonce,
acr). Here they meet the directory:

- the `siret` claim names the organisation (its establishment): the acting organisation of the
  session that opens;
- the account is the one linked to the ProConnect subject (`sub`) at an earlier sign-in, else
  the organisation's member with the same e-mail address (linked then), else a new account
  (or the existing account with that address) given a membership **awaiting activation**
  (inactive) in the organisation: an administrator of the organisation activates it, with the
  right role, in the admin;
- an unknown SIRET, or an account not yet activated (inactive membership or account), is
  refused: a `SignInRequest` row per agent, SIRET and reason records it, and
  `signals.sign_in_refused` has the administrators told (notifications' outbox, once per
  address and request), all in one transaction.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from stdnum.fr import siret as siret_number

from ..models import (
    Membership,
    Organisation,
    ProConnectIdentity,
    Role,
    SignInRefusal,
    SignInRequest,
)
from ..signals import sign_in_refused
from .history import save_with_history

logger = logging.getLogger(__name__)

# The role an administrator finds on an account awaiting activation; they change it if needed
# before ticking « active » (the notice says so).
PENDING_ROLE = Role.COUNSELLOR


class Outcome(StrEnum):
    ADMITTED = "admitted"
    UNKNOWN_ORGANISATION = SignInRefusal.UNKNOWN_ORGANISATION.value
    AWAITING_ACTIVATION = SignInRefusal.AWAITING_ACTIVATION.value
    INVALID_CLAIMS = "invalid_claims"  # no usable SIRET, subject or address: nobody to tell
    # The account found by address is linked to another ProConnect identity: never re-pointed.
    IDENTITY_CONFLICT = "identity_conflict"


@dataclass(frozen=True)
class ProConnectClaims:
    sub: str
    email: str
    siret: str
    uid: str = ""
    given_name: str = ""
    usual_name: str = ""
    idp_id: str = ""

    @classmethod
    def from_userinfo(cls, claims: dict) -> "ProConnectClaims":
        def text(name: str) -> str:
            value = claims.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(
            sub=text("sub"),
            email=text("email").lower(),
            siret=siret_number.compact(text("siret")) if text("siret") else "",
            uid=text("uid"),
            given_name=text("given_name"),
            usual_name=text("usual_name"),
            idp_id=text("idp_id"),
        )


@dataclass(frozen=True)
class SignInResult:
    outcome: Outcome
    siret: str = ""
    user: AbstractBaseUser | None = None
    organisation: Organisation | None = None
    request: SignInRequest | None = None


def _refuse(
    *,
    reason: SignInRefusal,
    claims: ProConnectClaims,
    now: dt.datetime,
    organisation: Organisation | None = None,
    user=None,
) -> SignInResult:
    request, created = SignInRequest.objects.select_for_update().get_or_create(
        sub=claims.sub,
        siret=claims.siret,
        reason=reason,
        defaults={
            "organisation": organisation,
            "user": user,
            "email": claims.email,
            "given_name": claims.given_name[:150],
            "usual_name": claims.usual_name[:150],
            "uid": claims.uid[:255],
            "first_seen_at": now,
            "last_seen_at": now,
        },
    )
    if not created:
        request.attempts += 1
        request.last_seen_at = now
        request.save(update_fields=["attempts", "last_seen_at"])
    # Inside this transaction: the administrators' e-mails commit with the request (once each).
    sign_in_refused.send(sender=SignInRequest, sign_in_request=request)
    logger.info("ProConnect sign-in refused (%s) for SIRET %s", reason, claims.siret)
    return SignInResult(
        outcome=Outcome(reason.value),
        siret=claims.siret,
        user=user,
        organisation=organisation,
        request=request,
    )


def _new_username(email: str) -> str:
    User = get_user_model()
    base = email[:140]
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _account_for(claims: ProConnectClaims, organisation: Organisation):
    """The account of these claims in `organisation` and its membership there (None when it has
    none): by ProConnect subject first, else by e-mail address among the organisation's members,
    else the account with that address anywhere; None, None when parcours knows no such agent."""
    identity = ProConnectIdentity.objects.select_related("user").filter(sub=claims.sub).first()
    if identity is not None:
        membership = Membership.objects.filter(
            user=identity.user, organisation=organisation
        ).first()
        return identity.user, membership
    membership = (
        Membership.objects.select_related("user")
        .filter(organisation=organisation, user__email__iexact=claims.email)
        .order_by("-is_active", "-user__is_active", "pk")
        .first()
    )
    if membership is not None:
        return membership.user, membership
    users = list(get_user_model().objects.filter(email__iexact=claims.email).order_by("pk")[:2])
    # Two accounts share the address: which one is the agent's is not ours to guess.
    return (users[0] if len(users) == 1 else None), None


def _link(user, claims: ProConnectClaims, now: dt.datetime) -> None:
    identity = ProConnectIdentity.objects.filter(user=user).first()
    if identity is None:
        ProConnectIdentity.objects.create(
            user=user,
            sub=claims.sub,
            uid=claims.uid[:255],
            idp_id=claims.idp_id[:255],
            created_at=now,
            last_sign_in_at=now,
        )
        return
    if identity.sub != claims.sub:
        # The account is linked to another ProConnect identity: never re-pointed silently.
        raise IdentityConflict
    identity.uid, identity.idp_id, identity.last_sign_in_at = claims.uid, claims.idp_id, now
    identity.save(update_fields=["uid", "idp_id", "last_sign_in_at"])


class IdentityConflict(Exception):
    pass


@transaction.atomic
def proconnect_sign_in(*, claims: ProConnectClaims, now: dt.datetime | None = None) -> SignInResult:
    """Decide whether verified ProConnect `claims` open a session, as whom and for which
    organisation.

    Side effects: links the account to the ProConnect subject at its first admitted sign-in;
    creates an account (unusable password) and/or an inactive membership for an agent of a known
    organisation parcours did not know; records refused sign-ins (`SignInRequest`) and sends
    `signals.sign_in_refused` in this transaction (the administrators' e-mails)."""
    now = now or timezone.now()
    if not claims.sub or not claims.email or not siret_number.is_valid(claims.siret):
        return SignInResult(outcome=Outcome.INVALID_CLAIMS, siret=claims.siret)
    organisation = Organisation.objects.filter(siret=claims.siret).first()
    if organisation is None:
        return _refuse(reason=SignInRefusal.UNKNOWN_ORGANISATION, claims=claims, now=now)
    user, membership = _account_for(claims, organisation)
    if user is None:
        User = get_user_model()
        user = User(
            username=_new_username(claims.email),
            email=claims.email,
            first_name=claims.given_name[:150],
            last_name=claims.usual_name[:150],
        )
        user.set_unusable_password()
        user.save()
    if membership is None:
        membership = Membership(
            user=user, organisation=organisation, role=PENDING_ROLE, is_active=False
        )
        save_with_history(
            membership,
            actor=None,
            reason="Première connexion ProConnect : compte en attente d'activation",
        )
    if not (membership.is_active and user.is_active):
        return _refuse(
            reason=SignInRefusal.AWAITING_ACTIVATION,
            claims=claims,
            now=now,
            organisation=organisation,
            user=user,
        )
    try:
        _link(user, claims, now)
    except IdentityConflict:
        logger.warning("ProConnect subject differs from the one linked to user %s", user.pk)
        return SignInResult(outcome=Outcome.IDENTITY_CONFLICT, siret=claims.siret)
    return SignInResult(
        outcome=Outcome.ADMITTED, siret=claims.siret, user=user, organisation=organisation
    )
