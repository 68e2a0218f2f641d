"""The link of a receiver without an account (issue 19; models/receiver_link.py).

- `receiver_link_on_send`: a referral sent to an organisation with no active user (no active
  membership of an active user) gets a link, in the send's transaction (the `referral_moved`
  receiver of parcours/link_receivers.py); `receiver_link_issued` is sent so notifications
  writes the e-mail to the organisation's contact address in that same transaction.
- `receiver_link_issue` / `receiver_link_revoke`: the sender (the gate's RECEIVER_LINK_* rows)
  sends a new link (the former revoked) or revokes it; journaled as writes on the referral.
- `receiver_link_open`: the token of a URL → the link and its actor (`link_actor`), or
  `LinkRefused` (a French page, 404 or 410). The token is signed with a salt of its own: a
  forged or altered one is refused before any query. The secret's SHA-256 is compared in
  constant time, also when no link has the id (no enumeration by timing).

Acting through the link is the referral services' moves with `link_actor(link)`: the gate's
table lets the link's role (rules.LINK) give the receiver's answers on its one referral.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor, LinkScope
from ..compiled import CompiledQuery
from ..errors import Conflict
from ..gate import Action, Subject
from ..gate.journal import record_refusal, record_write
from ..gate.relations import relations_to_referral
from ..models import (
    OPEN_REFERRAL_STATUSES,
    Membership,
    ReceiverLink,
    ReceiverLinkState,
    Referral,
    ReferralStatus,
)
from ..rules import LINK
from ..signals import receiver_link_issued

SALT = "parcours.receiver_link"
# The hash compared when no link has the token's id: the same work as for a real one.
_NOBODY = hashlib.sha256(b"no receiver link").hexdigest()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_for(link_id: int, secret: str) -> str:
    return signing.dumps({"l": link_id, "s": secret}, salt=SALT, compress=False)


def link_url(token: str, referral_id: int) -> str:
    from django.urls import reverse

    path = reverse("web:receiver-link", kwargs={"referral_pk": referral_id, "token": token})
    return f"{settings.PARCOURS_PUBLIC_URL.rstrip('/')}{path}"


def receiver_has_account(organisation_id: int) -> bool:
    """Whether someone may sign in for the organisation (an active membership of an active user)."""
    return Membership.objects.filter(
        organisation_id=organisation_id, is_active=True, user__is_active=True
    ).exists()


def link_actor(link: ReceiverLink) -> Actor:
    """The receiving organisation acting through `link`: no user, the link's role, its one
    referral (parcours/access.py narrows every scope to it)."""
    return Actor(
        user=None,
        organisation=link.organisation,
        role=LINK,
        link=LinkScope(
            link_id=link.pk, referral_id=link.referral_id, pathway_id=link.referral.pathway_id
        ),
    )


def _expiry(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(days=settings.PARCOURS_RECEIVER_LINK_DAYS)


def _create(referral: Referral, *, created_by_id: int | None, now: dt.datetime) -> ReceiverLink:
    secret = secrets.token_urlsafe(32)
    link = ReceiverLink.objects.create(
        referral=referral,
        organisation_id=referral.receiver_organisation_id,
        token_hash=_digest(secret),
        created_at=now,
        created_by_id=created_by_id,
        expires_at=_expiry(now),
    )
    # Kept encrypted for the relay that writes the e-mail; blanked at its first use or when it
    # is revoked (receiver_link_touch, _revoke_all).
    link.mail_token = token_for(link.pk, secret)
    link.save(update_fields=["mail_token"])
    receiver_link_issued.send(sender=ReceiverLink, link=link, now=now)
    return link


def receiver_link_on_send(
    *, referral: Referral, created_by_id: int | None, now: dt.datetime
) -> ReceiverLink | None:
    """In the send's transaction: a link when the receiver has nobody to sign in, else None.
    A referral sent again (never: one send per referral) keeps the link it has."""
    if receiver_has_account(referral.receiver_organisation_id):
        return None
    if ReceiverLink.objects.filter(referral=referral, revoked_at__isnull=True).exists():
        return None
    return _create(referral, created_by_id=created_by_id, now=now)


def _sender_referral(actor: Actor, referral_id: int, action: Action) -> Referral:
    """The referral, locked, within the actor's scope (404 otherwise), of which the actor's
    organisation is the sender (403 otherwise, journaled)."""
    referral = gate.locate(
        actor,
        access.referrals_visible_to(actor).select_for_update(of=("self",)),
        referral_id,
        action=action,
    )
    gate.require(
        actor,
        action,
        relations=relations_to_referral(actor, referral),
        subject=Subject("referral", referral.pk, referral.pathway.person_id),
    )
    return referral


def _journal(actor: Actor, action: Action, referral: Referral) -> None:
    from ..categories import DataCategory

    record_write(
        actor,
        action,
        object_type="referral",
        object_id=referral.pk,
        person_id=referral.pathway.person_id,
        pathway_ids=[referral.pathway_id],
        categories={DataCategory.PATHWAY},
    )


def _revoke_all(referral: Referral, actor: Actor, now: dt.datetime) -> int:
    revoked = 0
    for link in ReceiverLink.objects.select_for_update().filter(
        referral=referral, revoked_at__isnull=True
    ):
        link.revoked_at = now
        link.revoked_by = actor.user
        link.mail_token = ""
        link.save(update_fields=["revoked_at", "revoked_by", "mail_token"])
        revoked += 1
    return revoked


@transaction.atomic
def receiver_link_revoke(*, actor: Actor, referral_id: int) -> Referral:
    """The sender revokes the referral's link: it opens nothing from now on. Conflict when
    there is none in force (already revoked, or none ever sent)."""
    referral = _sender_referral(actor, referral_id, Action.RECEIVER_LINK_REVOKE)
    now = timezone.now()
    if not ReceiverLink.objects.filter(
        referral=referral, revoked_at__isnull=True, expires_at__gt=now
    ).exists():
        raise Conflict(_("Cette orientation n'a pas de lien d'accès en vigueur à révoquer."))
    _revoke_all(referral, actor, now)
    _journal(actor, Action.RECEIVER_LINK_REVOKE, referral)
    return referral


@transaction.atomic
def receiver_link_issue(*, actor: Actor, referral_id: int) -> ReceiverLink:
    """The sender sends a new link (a lost e-mail, an expired or revoked link): the former one
    is revoked, the new one e-mailed to the receiver's contact address. Only while the referral
    is open and sent, and while the receiver still has no account (Conflict otherwise)."""
    referral = _sender_referral(actor, referral_id, Action.RECEIVER_LINK_ISSUE)
    if referral.status == ReferralStatus.DRAFT or referral.status not in OPEN_REFERRAL_STATUSES:
        raise Conflict(_("Un lien d'accès ne s'envoie que pour une orientation envoyée en cours."))
    if receiver_has_account(referral.receiver_organisation_id):
        raise Conflict(
            _(
                "L'organisme destinataire a désormais un compte parcours : il répond depuis "
                "sa boîte de réception."
            )
        )
    now = timezone.now()
    _revoke_all(referral, actor, now)
    link = _create(referral, created_by_id=actor.user_id, now=now)
    _journal(actor, Action.RECEIVER_LINK_ISSUE, referral)
    return link


def _newest_link(referral: int | Referral) -> QuerySet[ReceiverLink]:
    # As QuerySet.first() builds it.
    return ReceiverLink.objects.filter(referral=referral).order_by("-created_at", "-pk")[:1]


# Compiled once (issue 17): read by the sender's referral page on every request.
_NEWEST_LINK = CompiledQuery(
    ReceiverLink, _newest_link, "referral", types={"referral": int}, prepared=True
)


def current_link(referral: Referral) -> ReceiverLink | None:
    """The referral's newest link (in force, expired or revoked), for its state."""
    return _NEWEST_LINK.first(referral=referral.pk)


# --- Opening a link ------------------------------------------------------------------------


class LinkRefused(Exception):
    """Why a URL opens nothing: `reason` (one of REFUSALS), the link when it is known."""

    def __init__(self, reason: str, link: ReceiverLink | None = None):
        super().__init__(reason)
        self.reason = reason
        self.link = link


INVALID, EXPIRED, REVOKED, CLOSED, OTHER_REFERRAL = (
    "invalid",
    "expired",
    "revoked",
    "closed",
    "other_referral",
)


@dataclass(frozen=True)
class OpenedLink:
    link: ReceiverLink
    actor: Actor


def receiver_link_open(token: str, referral_id: int) -> OpenedLink:
    """The link a URL's token names, on the referral of that URL, if it still opens it;
    LinkRefused otherwise (a refusal with a known link is journaled against its referral)."""
    try:
        payload = signing.loads(token, salt=SALT)
        link_id, secret = int(payload["l"]), str(payload["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused(INVALID) from None
    link = (
        ReceiverLink.objects.select_related("referral__pathway", "organisation")
        .filter(pk=link_id)
        .first()
    )
    expected = link.token_hash if link is not None else _NOBODY
    if not hmac.compare_digest(expected, _digest(secret)) or link is None:
        raise LinkRefused(INVALID)
    now = timezone.now()
    reason = None
    if link.referral_id != referral_id:
        reason = OTHER_REFERRAL
    elif link.state(now) == ReceiverLinkState.REVOKED:
        reason = REVOKED
    elif link.state(now) == ReceiverLinkState.EXPIRED:
        reason = EXPIRED
    elif link.referral.status not in OPEN_REFERRAL_STATUSES:
        reason = CLOSED
    actor = link_actor(link)
    if reason is not None:
        record_refusal(
            actor,
            Action.REFERRAL_READ,
            object_type="referral",
            object_id=referral_id,
            refusal=f"receiver_link_{reason}",
        )
        raise LinkRefused(reason, link)
    return OpenedLink(link=link, actor=actor)


def receiver_link_touch(link: ReceiverLink, now: dt.datetime | None = None) -> None:
    """When the link was last used (no history: a link is no record of the person). Its first
    use says the e-mail arrived: the encrypted copy of the token kept for it is blanked, only
    the hash remains."""
    ReceiverLink.objects.filter(pk=link.pk).update(
        last_used_at=now or timezone.now(), mail_token=""
    )
