"""Partner systems' webhooks: the organisation's administrators subscribe their systems to
referral and pathway events; every move of a referral the organisation is a party to, and every
change of référent, of modality or closing of a pathway it sees, writes one delivery per matching
subscription in the change's own transaction (the outbox; the relay is
services/webhook_delivery.py). docs/guide-integration-partenaires.md.

- `webhook_subscription_create` checks the address, generates the signing secret (`whsec_` +
  base64 of 32 random bytes, the Standard Webhooks form) and returns it once;
- `webhook_subscription_rotate` makes a new secret and keeps the old one signing beside it for
  PARCOURS_WEBHOOK_ROTATION_OVERLAP_HOURS (two signatures in `webhook-signature`);
- `webhook_subscription_change` and `webhook_subscription_disable` change or stop it (a
  disabled subscription gets no new delivery; its log stays);
- `webhook_delivery_replay` sends a delivery again, same `webhook-id`, freshly signed;
- `webhook_events_record` is called by the `referral_moved` receiver, and
  `webhook_pathway_events_record` by the `pathway_changed` one (parcours/webhook_receivers.py).

Who may: the gate's rows `webhook.manage` and `webhook.replay` (the organisation's
administrators), asked here; doors only call these functions.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .. import access, gate
from ..actor import Actor
from ..categories import DataCategory
from ..errors import InvalidInput
from ..gate.journal import record_webhook_export
from ..models import EventKind, Organisation, Pathway, Referral
from ..models.webhook import WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription
from ..queueing import enqueue_on_commit
from ..transitions import Action as Move
from .webhook_payload import WebhookBody, pathway_webhook_body, webhook_body

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
SHOWN_PREFIX_LENGTH = len(SECRET_PREFIX) + 6
DESCRIPTION_MAX = 120
URL_MAX = 500

# The events a system may subscribe to: one per move of the referral state machine
# (parcours/transitions.py), named by what happened. A transfer confirmed by the sender and one
# confirmed at once under an agreement are the same fact for the partner.
EVENT_OF_MOVE: dict[Move, str] = {
    Move.SEND: "referral.sent",
    Move.WITHDRAW: "referral.withdrawn",
    Move.ACCEPT: "referral.accepted",
    Move.REFUSE: "referral.refused",
    Move.EXPIRE: "referral.expired",
    Move.SET_APPOINTMENT: "referral.appointment_set",
    Move.RECORD_ATTENDANCE: "referral.attended",
    Move.RECORD_NO_SHOW: "referral.no_show",
    Move.CLOSE: "referral.closed",
    Move.CORRECT_ATTENDANCE: "referral.attendance_corrected",
    Move.PROPOSE_TRANSFER: "referral.transfer_proposed",
    Move.CONFIRM_TRANSFER: "referral.transferred",
    Move.DECLINE_TRANSFER: "referral.transfer_declined",
    Move.TRANSFER_UNDER_AGREEMENT: "referral.transferred",
}
# The pathway's own events: the changes of its timeline a partner system acts on (who follows
# the person, how closely, and the end of the support), sent by services/pathway.py through
# `signals.pathway_changed`.
EVENT_OF_PATHWAY_KIND: dict[EventKind, str] = {
    EventKind.REFERENT_CHANGED: "pathway.referent_changed",
    EventKind.MODALITY_CHANGED: "pathway.modality_changed",
    EventKind.PATHWAY_CLOSED: "pathway.closed",
}
EVENT_LABELS: dict[str, Promise] = {
    "referral.sent": _("Orientation envoyée (reçue)"),
    "referral.withdrawn": _("Orientation retirée"),
    "referral.accepted": _("Orientation acceptée"),
    "referral.refused": _("Orientation refusée"),
    "referral.expired": _("Orientation expirée sans réponse"),
    "referral.appointment_set": _("Rendez-vous fixé"),
    "referral.attended": _("Venue constatée"),
    "referral.no_show": _("Absence constatée"),
    "referral.closed": _("Orientation clôturée (retour d'information)"),
    "referral.attendance_corrected": _("Venue ou absence corrigée"),
    "referral.transfer_proposed": _("Réorientation proposée"),
    "referral.transferred": _("Orientation réorientée"),
    "referral.transfer_declined": _("Réorientation refusée"),
    "pathway.referent_changed": _("Référent du parcours changé"),
    "pathway.modality_changed": _("Modalité d'accompagnement changée"),
    "pathway.closed": _("Parcours clôturé"),
}
# In the order the forms and lists show them: the referral's, then the pathway's.
EVENTS: tuple[str, ...] = tuple(EVENT_LABELS)
REFERRAL_EVENTS: tuple[str, ...] = tuple(e for e in EVENTS if e.startswith("referral."))
PATHWAY_EVENTS: tuple[str, ...] = tuple(e for e in EVENTS if e.startswith("pathway."))


def event_label(event_type: str) -> str:
    return str(EVENT_LABELS.get(event_type, _("Événement")))


@dataclass(frozen=True)
class IssuedSecret:
    """A subscription with its new secret: here, and shown once."""

    subscription: WebhookSubscription
    secret: str


def _new_secret() -> tuple[str, str]:
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    return secret, secret[:SHOWN_PREFIX_LENGTH]


# --- validation ---------------------------------------------------------------------------------

URL_FIELD = "url"


def _url_error(message: str) -> InvalidInput:
    return InvalidInput("Adresse de réception invalide.", fields={URL_FIELD: [message]})


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_url(value) -> str:
    """An absolute https:// address of a public host (http:// to a loopback host only where
    PARCOURS_WEBHOOK_ALLOW_HTTP_LOOPBACK: development and tests). No credentials in it, no
    private or link-local address literal: parcours must not be made to call its own network."""
    url = str(value or "").strip()
    if not url:
        raise _url_error("Indiquez l'adresse https:// où votre système reçoit les messages.")
    if len(url) > URL_MAX or re.search(r"[\s\x00-\x1f\x7f]", url):
        raise _url_error(f"{URL_MAX} caractères au plus, sans espace ni caractère de contrôle.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        raise _url_error("Adresse mal formée.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise _url_error("L'adresse doit commencer par https:// suivi du nom du serveur.")
    if parts.username or parts.password:
        raise _url_error("L'adresse ne doit pas contenir d'identifiant ni de mot de passe.")
    loopback = _is_loopback(host)
    if loopback and settings.PARCOURS_WEBHOOK_ALLOW_HTTP_LOOPBACK:
        return url
    if parts.scheme != "https":
        raise _url_error("Seules les adresses https:// sont acceptées.")
    if loopback:
        raise _url_error("Cette adresse désigne le serveur de parcours lui-même.")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return url
    if address.is_private or address.is_link_local or address.is_reserved:
        raise _url_error("Cette adresse désigne un réseau privé : indiquez une adresse publique.")
    return url


def _clean_description(value) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise InvalidInput(
            "Nommez le système qui recevra ces messages.",
            fields={"description": ["Nommez le système (par exemple « Logiciel rSa »)."]},
        )
    if len(text) > DESCRIPTION_MAX or re.search(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", text):
        raise InvalidInput(
            "Description invalide.",
            fields={
                "description": [
                    f"{DESCRIPTION_MAX} caractères au plus, sans caractère de contrôle."
                ]
            },
        )
    return text


def _clean_events(values) -> list[str]:
    chosen = {str(v) for v in (values or [])}
    unknown = sorted(chosen - set(EVENTS))
    if unknown:
        raise InvalidInput(
            "Événement inconnu.",
            fields={"events": [f"Événement inconnu : {', '.join(unknown)[:200]}."]},
        )
    if not chosen:
        raise InvalidInput(
            "Choisissez au moins un événement.",
            fields={"events": ["Choisissez au moins un événement à recevoir."]},
        )
    return [e for e in EVENTS if e in chosen]


# --- reads --------------------------------------------------------------------------------------


def webhook_subscriptions_of(*, actor: Actor) -> QuerySet[WebhookSubscription]:
    """The acting organisation's subscriptions, for its administrators (403 for others; another
    organisation's answer 404, like missing)."""
    gate.require(actor, gate.Action.WEBHOOK_MANAGE)
    return WebhookSubscription.objects.filter(organisation=actor.organisation).select_related(
        "created_by"
    )


def webhook_deliveries_of(*, actor: Actor, subscription_id=None) -> QuerySet[WebhookDelivery]:
    """The delivery log of the organisation's subscriptions (newest first)."""
    gate.require(actor, gate.Action.WEBHOOK_MANAGE)
    deliveries = WebhookDelivery.objects.filter(
        subscription__organisation=actor.organisation
    ).select_related("subscription")
    if subscription_id is not None:
        deliveries = deliveries.filter(subscription_id=_pk(subscription_id))
    return deliveries.order_by("-created_at", "-id")


def _pk(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _subscription_of(actor: Actor, subscription_id) -> WebhookSubscription:
    subscription = (
        webhook_subscriptions_of(actor=actor)
        .select_for_update(of=("self",))
        .filter(pk=_pk(subscription_id))
        .first()
    )
    if subscription is None:
        raise WebhookSubscription.DoesNotExist()
    return subscription


# --- writes -------------------------------------------------------------------------------------


def webhook_subscription_create(
    *, actor: Actor, url: str, description: str, events
) -> IssuedSecret:
    """A subscription of the actor's organisation; its secret is in the answer, once."""
    gate.require(actor, gate.Action.WEBHOOK_MANAGE)
    cleaned_url = clean_url(url)
    cleaned_description = _clean_description(description)
    chosen = _clean_events(events)
    secret, prefix = _new_secret()
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            organisation=actor.organisation,
            url=cleaned_url,
            description=cleaned_description,
            events=chosen,
            secret=secret,
            secret_prefix=prefix,
            created_by=actor.user,
        )
    return IssuedSecret(subscription=subscription, secret=secret)


def webhook_subscription_change(
    *, actor: Actor, subscription_id, url: str, description: str, events
) -> WebhookSubscription:
    gate.require(actor, gate.Action.WEBHOOK_MANAGE)
    cleaned_url = clean_url(url)
    cleaned_description = _clean_description(description)
    chosen = _clean_events(events)
    with transaction.atomic():
        subscription = _subscription_of(actor, subscription_id)
        subscription.url = cleaned_url
        subscription.description = cleaned_description
        subscription.events = chosen
        subscription.save(update_fields=["url", "description", "events"])
    return subscription


def webhook_subscription_rotate(*, actor: Actor, subscription_id) -> IssuedSecret:
    """A new secret; the current one keeps signing beside it during the overlap, so the
    partner's system may switch at its own pace without a refused message."""
    gate.require(actor, gate.Action.WEBHOOK_MANAGE)
    with transaction.atomic():
        subscription = _subscription_of(actor, subscription_id)
        if not subscription.is_active:
            raise InvalidInput("Cet abonnement est désactivé : créez-en un nouveau.")
        secret, prefix = _new_secret()
        overlap = dt.timedelta(hours=settings.PARCOURS_WEBHOOK_ROTATION_OVERLAP_HOURS)
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_until = timezone.now() + overlap
        subscription.secret = secret
        subscription.secret_prefix = prefix
        subscription.save(
            update_fields=["previous_secret", "previous_secret_until", "secret", "secret_prefix"]
        )
    return IssuedSecret(subscription=subscription, secret=secret)


def webhook_subscription_disable(*, actor: Actor, subscription_id) -> WebhookSubscription:
    """No new delivery; those already written still leave (they were due when written)."""
    gate.require(actor, gate.Action.WEBHOOK_MANAGE)
    with transaction.atomic():
        subscription = _subscription_of(actor, subscription_id)
        if subscription.disabled_at is None:
            subscription.disabled_at = timezone.now()
            subscription.save(update_fields=["disabled_at"])
    return subscription


def webhook_delivery_replay(*, actor: Actor, delivery_id) -> WebhookDelivery:
    """Send it again (same `webhook-id`, new timestamp and signature), at once."""
    gate.require(actor, gate.Action.WEBHOOK_REPLAY)
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(subscription__organisation=actor.organisation, pk=_pk(delivery_id))
            .select_related("subscription")
            .first()
        )
        if delivery is None:
            raise WebhookDelivery.DoesNotExist()
        if delivery.status != WebhookDeliveryStatus.SENDING:
            # A delivery being sent is left alone: its result is about to be recorded.
            delivery.status = WebhookDeliveryStatus.PENDING
            delivery.delivered_at = None
            delivery.next_attempt_at = timezone.now()
            delivery.save(update_fields=["status", "delivered_at", "next_attempt_at"])
            enqueue_on_commit(
                "parcours.webhooks_deliver",
                catch_up="the webhooks-deliver beat entry sends the replayed delivery",
            )
    return delivery


# --- events -------------------------------------------------------------------------------------


def webhook_events_record(*, referral: Referral, action: Move, event_id: int, now) -> int:
    """In the move's transaction: one delivery per active subscription of either party that
    asked for this event, with what that party's grants allow. Idempotent per (subscription,
    timeline event): a re-run inserts nothing. Returns how many were written."""
    event_type = EVENT_OF_MOVE.get(action)
    if event_type is None:
        return 0
    parties = {referral.sender_organisation_id, referral.receiver_organisation_id}
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(
            organisation_id__in=parties, disabled_at__isnull=True
        ).select_related("organisation")
        if event_type in s.events
    ]
    return _deliveries_write(
        subscriptions,
        event_type=event_type,
        event_id=event_id,
        now=now,
        person_id=referral.pathway.person_id,
        referral=referral,
        body_for=lambda organisation: webhook_body(
            referral=referral, organisation=organisation, event_type=event_type, now=now
        ),
    )


def webhook_pathway_events_record(*, pathway: Pathway, kind: str, event_id: int, now) -> int:
    """In the change's transaction (référent, modality, closing): one delivery per active
    subscription that asked for this event, of every organisation that sees the pathway's
    `pathway` category now — its own grant rows, the ones that decide what its members read,
    found by one probe of the pathway's rows (`access.organisations_seeing`) — with what its
    grants allow. Idempotent per (subscription, timeline event). Returns how many were written."""
    event_type = EVENT_OF_PATHWAY_KIND.get(EventKind(kind))
    if event_type is None:
        return 0
    subscriptions = list(
        WebhookSubscription.objects.filter(
            organisation__in=access.organisations_seeing(pathway.pk, DataCategory.PATHWAY),
            disabled_at__isnull=True,
            events__contains=[event_type],
        ).select_related("organisation")
    )
    return _deliveries_write(
        subscriptions,
        event_type=event_type,
        event_id=event_id,
        now=now,
        person_id=pathway.person_id,
        pathway=pathway,
        body_for=lambda organisation: pathway_webhook_body(
            pathway=pathway, organisation=organisation, event_type=event_type, now=now
        ),
    )


def _deliveries_write(
    subscriptions: list[WebhookSubscription],
    *,
    event_type: str,
    event_id: int,
    now,
    person_id: int,
    body_for: Callable[[Organisation], WebhookBody | None],
    referral: Referral | None = None,
    pathway: Pathway | None = None,
) -> int:
    """The deliveries of one timeline event to these subscriptions, each organisation's body
    built once, each message journaled as an export; the relay woken on commit."""
    if not subscriptions:
        return 0
    # A re-run for the same timeline event offers nothing new (the unique constraint would
    # refuse it anyway): only the subscriptions without their delivery get one, and a journal row.
    already = set(
        WebhookDelivery.objects.filter(
            source_event_id=event_id, subscription__in=subscriptions
        ).values_list("subscription_id", flat=True)
    )
    bodies: dict[int, WebhookBody | None] = {}
    rows: list[tuple[WebhookBody, WebhookDelivery]] = []
    for subscription in subscriptions:
        if subscription.pk in already:
            continue
        organisation = subscription.organisation
        if organisation.pk not in bodies:
            bodies[organisation.pk] = body_for(organisation)
        body = bodies[organisation.pk]
        if body is None:
            continue
        delivery = WebhookDelivery(
            subscription=subscription,
            event_type=event_type,
            source_event_id=event_id,
            referral=referral,
            pathway=pathway,
            message_id=f"msg_{uuid.uuid4().hex}",
            body=body.text,
            next_attempt_at=now,
            created_at=now,
        )
        rows.append((body, delivery))
    if not rows:
        return 0
    WebhookDelivery.objects.bulk_create(
        [delivery for _body, delivery in rows], ignore_conflicts=True
    )
    # Each message is personal data leaving for an organisation: an export row of the journal,
    # in this transaction (the DPO and the person read it like any other export).
    for body, delivery in rows:
        record_webhook_export(
            organisation=delivery.subscription.organisation,
            referral_id=referral.pk if referral is not None else None,
            pathway_id=pathway.pk if pathway is not None else None,
            person_id=person_id,
            categories=body.categories,
            basis=body.basis,
            subscription_id=delivery.subscription_id,
            message_id=delivery.message_id,
            event_type=event_type,
        )
    enqueue_on_commit(
        "parcours.webhooks_deliver",
        catch_up="the webhooks-deliver beat entry sends the new deliveries",
    )
    return len(rows)
