"""How an answer to the sender reads, in French: one wording per answer kind, shared by the
home's « Réponses à vos orientations », the e-mail and the digest line, so the three say the
same thing.

Minimal data, as the alert e-mails: the referral's reference, the two organisations, dates, the
structured refusal reason or outcome (a label of a fixed list) — never the person's name, nor
any text typed about the person (the refusal's or the closing's comment).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from parcours.labels import organisation_with_service
from parcours.models import ReferralOutcome, RefusalReason

from .mail_parts import Templates, referral_link
from .mail_parts import day_and_time as _day_and_time
from .mail_parts import email_of as _email
from .models import AnswerKind, AnswerNotice, OutboxMessage


@dataclass(frozen=True)
class Wording:
    fact: str | Promise  # %(receiver)s, %(reference)s, %(on)s, %(appointment)s, %(reason)s…
    detail: str | Promise  # the short second line on the home (%(outcome)s…)
    ask: str | Promise = ""  # what the sender may do now


WORDING: dict[str, Wording] = {
    AnswerKind.ACCEPTED: Wording(
        _("%(receiver)s a accepté l'orientation %(reference)s le %(on)s."),
        "",
        _("Un rendez-vous doit maintenant être proposé à la personne : vous serez prévenu(e)."),
    ),
    AnswerKind.REFUSED: Wording(
        _("%(receiver)s a refusé l'orientation %(reference)s le %(on)s. Motif : %(reason)s."),
        _("Motif : %(reason)s"),
        _("Vous pouvez orienter la personne vers un autre partenaire."),
    ),
    AnswerKind.APPOINTMENT_SET: Wording(
        _(
            "%(receiver)s a fixé un rendez-vous le %(appointment)s pour l'orientation "
            "%(reference)s."
        ),
        _("Rendez-vous le %(appointment)s"),
    ),
    AnswerKind.APPOINTMENT_MOVED: Wording(
        _(
            "%(receiver)s a déplacé le rendez-vous de l'orientation %(reference)s au "
            "%(appointment)s."
        ),
        _("Nouveau rendez-vous le %(appointment)s"),
    ),
    AnswerKind.REINVITED: Wording(
        _(
            "Après une absence, %(receiver)s a réinvité la personne à un rendez-vous le "
            "%(appointment)s (orientation %(reference)s)."
        ),
        _("Nouveau rendez-vous le %(appointment)s"),
    ),
    AnswerKind.ATTENDED: Wording(
        _(
            "%(receiver)s indique que la personne est venue au rendez-vous de l'orientation "
            "%(reference)s (saisi le %(on)s)."
        ),
        "",
    ),
    AnswerKind.NO_SHOW: Wording(
        _(
            "%(receiver)s indique que la personne ne s'est pas présentée au rendez-vous de "
            "l'orientation %(reference)s (saisi le %(on)s)."
        ),
        "",
        _(
            "Vous pouvez reprendre contact avec la personne pour comprendre ce qui l'a empêchée "
            "de venir ; la structure peut la réinviter."
        ),
    ),
    AnswerKind.CLOSED: Wording(
        _(
            "%(receiver)s a clôturé l'orientation %(reference)s le %(on)s. Suite donnée : "
            "%(outcome)s."
        ),
        _("Suite donnée : %(outcome)s"),
    ),
    AnswerKind.TRANSFER_PROPOSED: Wording(
        _(
            "%(receiver)s propose le %(on)s de réorienter la personne de l'orientation "
            "%(reference)s vers %(partner)s."
        ),
        _("Vers %(partner)s"),
        _(
            "Confirmez ou refusez la réorientation depuis l'orientation : la personne attend "
            "votre réponse."
        ),
    ),
    AnswerKind.TRANSFERRED: Wording(
        _(
            "%(receiver)s a réorienté le %(on)s la personne de l'orientation %(reference)s vers "
            "%(partner)s, comme votre convention le permet."
        ),
        _("Vers %(partner)s"),
        _("La nouvelle orientation vous est rattachée : vous serez prévenu(e) de ses réponses."),
    ),
}


@dataclass(frozen=True)
class AnswerLine:
    label: str  # « Orientation refusée »
    detail: str  # « Motif : Plus de place disponible » (may be empty)
    fact: str
    ask: str
    title: str  # the e-mail's subject, without the « [parcours] » prefix
    reference: str
    receiver: str
    on: str
    link: str


def _partner(referral) -> str:
    """The partner a réorientation goes to (its name and service: never the reason typed)."""
    organisation, service = referral.transfer_organisation, referral.transfer_service
    if organisation is None:  # declined since: the referral no longer names it
        return str(_("un autre partenaire"))
    return organisation_with_service(organisation, service)


def answer_line(notice: AnswerNotice) -> AnswerLine:
    """The notice in words. Reads its referral (with its organisations and service), event
    and appointment: select them with the notice (`ANSWER_LINE_RELATED`)."""
    referral = notice.referral
    service = referral.receiver_service
    receiver = organisation_with_service(referral.receiver_organisation, service)
    appointment = notice.appointment
    values: dict[str, str] = {
        "receiver": receiver,
        "reference": referral.reference,
        "on": _day_and_time(notice.event.occurred_at),
        "appointment": _day_and_time(appointment.starts_at)
        if appointment
        else str(_("(date à consulter dans le dossier)")),
        "reason": str(RefusalReason(referral.refusal_reason).label)
        if referral.refusal_reason
        else "",
        "outcome": str(ReferralOutcome(referral.outcome).label) if referral.outcome else "",
        "partner": _partner(referral),
    }
    wording = WORDING[notice.answer]
    label = str(AnswerKind(notice.answer).label)
    return AnswerLine(
        label=label,
        detail=str(wording.detail) % values if wording.detail else "",
        fact=str(wording.fact) % values,
        ask=str(wording.ask),
        title=f"{referral.reference} : {label.lower()} — {receiver}",
        reference=referral.reference,
        receiver=receiver,
        on=values["on"],
        link=referral_link(referral.pk),
    )


# What `answer_line` reads, for select_related.
ANSWER_LINE_RELATED = (
    "referral__receiver_organisation",
    "referral__receiver_service",
    "referral__transfer_organisation",
    "referral__transfer_service",
    "event",
    "appointment",
)


def answer_lines(notices: list[AnswerNotice]) -> list[AnswerLine]:
    """The answers an outbox row carries (its own for an immediate e-mail, several for a
    digest), from its notices read oldest first with `ANSWER_LINE_RELATED`
    (`mail_facts.mail_facts_load`)."""
    return [answer_line(notice) for notice in notices]


def answer_email(
    message: OutboxMessage, notices: list[AnswerNotice], *, templates: Templates | None = None
) -> EmailMultiAlternatives | None:
    """One answer, at once. None when its move is gone (the pathway erased: the event and the
    notice went with it), so nothing is sent."""
    lines = answer_lines(notices)
    if message.event_id is None or not lines:
        return None
    line = lines[0]
    context = {
        "line": line,
        "preferences_url": settings.PARCOURS_PUBLIC_URL.rstrip("/") + "/preferences/",
    }
    return _email(
        message,
        subject=f"[parcours] {line.title}",
        template="notifications/email/answer",
        context=context,
        templates=templates,
    )
