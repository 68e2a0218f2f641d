"""Messages on a referral: a short thread between its sender and its receiver (issue 14).

Who may: the gate's table (`rules.REFERRAL_MESSAGE_POST`, `REFERRAL_MESSAGE_READ`): the case
workers of the referral's two parties, within the referral's basis (the pathway category; out of
it, "not found"). A message is never edited nor deleted.

When: as long as both parties see the referral — from its sending to the end of the grace period
after it ended (refused, withdrawn, expired, closed: a partner still asks « pourquoi ? » or says
« elle est finalement venue »), never on a draft (the receiver does not see it: a message to
nobody), never on an archived record (read-only, 409).

Side effects of a post, in one transaction: the message, the journal's write row (pathway
category), the author's organisation's read marker moved past its own message, and the domain
signal `referral_message_posted` — notifications writes the other party's e-mails to the outbox
in that same transaction (exactly once per message and address). No timeline event: an exchange
between professionals is neither a step of the pathway nor a contact with the person (the
retention clock does not move).
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import access, gate
from ..actor import Actor
from ..categories import DataCategory
from ..errors import Conflict, InvalidInput
from ..gate import Action, Subject
from ..gate.journal import record_write
from ..gate.relations import relations_to_referral
from ..models import (
    MESSAGE_MAX_LENGTH,
    Pathway,
    Referral,
    ReferralMessage,
    ReferralMessageRead,
    ReferralStatus,
)
from ..signals import referral_message_posted
from .archive import raise_if_archived


def message_text_problem(text: str) -> str:
    """What is wrong with a message's text, in French ("" when nothing is)."""
    if not text:
        return _("Écrivez votre message.")
    if len(text) > MESSAGE_MAX_LENGTH:
        return _("%(max)d caractères au plus (%(count)d saisis).") % {
            "max": MESSAGE_MAX_LENGTH,
            "count": len(text),
        }
    if "\x00" in text:
        return _("Le message contient un caractère invalide.")
    return ""


def _checked(text: str) -> str:
    text = (text or "").strip()
    problem = message_text_problem(text)
    if problem:
        raise InvalidInput(_("Le message n'a pas été envoyé."), fields={"text": [problem]})
    return text


def _subject(referral: Referral) -> Subject:
    return Subject("referral", referral.pk, referral.pathway.person_id)


def referral_for_thread(actor: Actor, referral_id: object, action: Action, *, lock: bool = False):
    """The referral whose thread the actor reads or writes: within the actor's scope (not found
    otherwise, journaled when it exists), the table's refusal (403, journaled) for anyone but a
    case worker of one of its two parties. `lock`: for a post, the pathway then the referral
    (the order of the referral moves and the retention job)."""
    scope = access.referrals_visible_to(actor)
    if lock:
        located = gate.locate(actor, scope.only("pk", "pathway_id"), referral_id, action=action)
        pathway = Pathway.objects.select_for_update().only("archived_at").get(pk=located.pathway_id)
        raise_if_archived(pathway)
        referral = (
            scope.select_for_update(of=("self",)).select_related("pathway").get(pk=located.pk)
        )
    else:
        referral = gate.locate(
            actor,
            scope.select_related(
                "pathway__person",
                "sender_organisation",
                "receiver_organisation",
                "receiver_service",
            ),
            referral_id,
            action=action,
        )
    gate.require(
        actor, action, relations=relations_to_referral(actor, referral), subject=_subject(referral)
    )
    return referral


@transaction.atomic
def referral_message_post(*, actor: Actor, referral_id: int, text: str) -> ReferralMessage:
    """Post a message on a referral's thread.

    Preconditions: a text of 1 to MESSAGE_MAX_LENGTH characters once stripped (400 with a French
    message on `text`, before any lookup); the referral within the actor's scope (404, the probe
    journaled); a case worker of its sender or receiver (403, journaled); not a draft (409: the
    receiver does not see it yet); the record not archived (409 `archived`).

    Side effects: the message; the write journaled (pathway category, the bases the organisation
    holds); the author's organisation has read its own message (its unread count does not grow);
    `referral_message_posted` sent in the transaction (the other party's e-mails).
    """
    text = _checked(text)
    referral = referral_for_thread(actor, referral_id, Action.REFERRAL_MESSAGE_POST, lock=True)
    if referral.status == ReferralStatus.DRAFT:
        raise Conflict(
            _(
                "Cette orientation n'est pas encore envoyée : le destinataire ne la voit pas, "
                "envoyez-la avant d'écrire un message."
            )
        )
    now = timezone.now()
    message = ReferralMessage(
        referral=referral,
        author=actor.user,
        author_organisation=actor.organisation,
        text=text,
        created_at=now,
    )
    message.full_clean(validate_constraints=False)
    message.save(force_insert=True)
    _move_watermark(
        actor, referral.pk, message.pk, now, exists=_mark_of(actor, referral.pk) is not None
    )
    record_write(
        actor,
        Action.REFERRAL_MESSAGE_POST,
        object_type="referral",
        object_id=referral.pk,
        person_id=referral.pathway.person_id,
        pathway_ids=[referral.pathway_id],
        categories={DataCategory.PATHWAY},
    )
    referral_message_posted.send(sender=ReferralMessage, message=message, referral=referral)
    return message


def _move_watermark(actor: Actor, referral_id: int, up_to: int, now, *, exists: bool) -> None:
    """Forward only, without locking the referral: a reader never waits for a post, and two
    colleagues opening the thread at once leave the later of their two marks. The mark is
    created the first time (`exists`: already there), then only moved forward."""
    if not exists:
        ReferralMessageRead.objects.bulk_create(
            [
                ReferralMessageRead(
                    referral_id=referral_id,
                    organisation=actor.organisation,
                    last_read_message_id=0,
                    read_at=now,
                    read_by=actor.user,
                )
            ],
            ignore_conflicts=True,
        )
    ReferralMessageRead.objects.filter(
        referral_id=referral_id,
        organisation=actor.organisation,
        last_read_message_id__lt=up_to,
    ).update(last_read_message_id=up_to, read_at=now, read_by=actor.user)


def _mark_of(actor: Actor, referral_id: int) -> int | None:
    return (
        ReferralMessageRead.objects.filter(referral_id=referral_id, organisation=actor.organisation)
        .values_list("last_read_message_id", flat=True)
        .first()
    )


@transaction.atomic
def referral_messages_mark_read(
    *, actor: Actor, referral_id: int, up_to_id: int | None = None
) -> int:
    """Mark the thread read for the actor's organisation, up to the message `up_to_id` (the
    newest message a door showed; None: the newest message now). Returns the previous mark
    (0: nothing read before), so a page can point out what is new to the reader.

    Preconditions: as reading the thread (`referral_message.read`: 404 out of scope, 403 for a
    bystander or a manager). Not journaled: the door that showed the messages journals that
    read; the mark changes no data about the person (it says how far a team has read).
    """
    referral = referral_for_thread(actor, referral_id, Action.REFERRAL_MESSAGE_READ)
    mark = _mark_of(actor, referral.pk)
    newest = ReferralMessage.objects.filter(referral=referral).aggregate(newest=Max("id"))["newest"]
    if newest is None:
        return mark or 0
    up_to = newest if up_to_id is None else min(up_to_id, newest)
    # Always the same statements (a mark already ahead is left as it is by the UPDATE's
    # condition): a door reading the thread costs the same whatever it shows.
    _move_watermark(actor, referral.pk, up_to, timezone.now(), exists=mark is not None)
    return mark or 0
