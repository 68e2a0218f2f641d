"""The alert kinds and the reminders, as data: which referrals each watches, which deadline it
reads, when it holds, and what the e-mail says. The scan, the resolution, the tests and the
templates all read these tables.

A rule *holds* while the referral is still waiting for what the alert is about; as soon as it
moves on (answered, booked, attended, refused, withdrawn, closed…) the rule stops holding and
the alert resolves itself.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from parcours.models import AppointmentOutcome, Referral
from parcours.models import ReferralStatus as S

from .models import Alert, AlertKind, ReminderDeadline


@dataclass(frozen=True)
class AlertRule:
    kind: AlertKind
    # Referral states in which the alert stays relevant (the partial index's condition).
    statuses: tuple[str, ...]
    # Referral field holding the deadline (the no-show rule also reads appointments).
    due_field: str
    # E-mail wording, by audience: what happened, and what is expected of the reader.
    subject: Promise
    fact: Promise
    ask_sender: Promise
    ask_receiver: Promise

    def holds(self, referral: Referral, alert: Alert | None = None) -> bool:
        appointment = alert.appointment if alert is not None else None
        return self.holds_for(referral.status, appointment.outcome if appointment else None)

    def holds_for(self, status: str, appointment_outcome: str | None) -> bool:
        """The rule on plain values: the referral's state and, for a no-show raised on an
        appointment, that appointment's outcome (None when the alert names none)."""
        if status not in self.statuses:
            return False
        if self.kind == AlertKind.NO_SHOW and status == S.APPOINTMENT_SET:
            # Raised on an appointment past its grace with no outcome: holds while that very
            # appointment is still pending (a new appointment set is the referral moving on).
            return appointment_outcome == AppointmentOutcome.PENDING
        return True


RULES: dict[str, AlertRule] = {
    AlertKind.UNANSWERED: AlertRule(
        kind=AlertKind.UNANSWERED,
        statuses=(S.SENT,),
        due_field="acknowledge_due_at",
        subject=_("orientation sans réponse"),
        fact=_(
            "L'orientation %(reference)s de %(person)s, envoyée le %(sent_on)s par "
            "%(sender)s à %(receiver)s, n'a pas reçu de réponse dans le délai convenu "
            "(réponse attendue avant le %(due_on)s)."
        ),
        ask_sender=_(
            "Vous pouvez relancer la structure destinataire ou proposer une autre orientation."
        ),
        ask_receiver=_("Merci d'accepter ou de refuser cette orientation (avec un motif)."),
    ),
    AlertKind.NO_APPOINTMENT: AlertRule(
        kind=AlertKind.NO_APPOINTMENT,
        statuses=(S.ACCEPTED,),
        due_field="appointment_due_at",
        subject=_("aucun rendez-vous fixé"),
        fact=_(
            "L'orientation %(reference)s de %(person)s, acceptée le %(accepted_on)s par "
            "%(receiver)s, n'a pas de rendez-vous fixé dans le délai convenu (avant le "
            "%(due_on)s)."
        ),
        ask_sender=_("Vous pouvez contacter la structure destinataire pour convenir d'une date."),
        ask_receiver=_("Merci de fixer un premier rendez-vous avec la personne."),
    ),
    AlertKind.NO_SHOW: AlertRule(
        kind=AlertKind.NO_SHOW,
        statuses=(S.APPOINTMENT_SET, S.NO_SHOW),
        due_field="no_show_at",
        subject=_("personne absente au rendez-vous"),
        fact=_(
            "%(person)s, orienté(e) par %(sender)s vers %(receiver)s (orientation "
            "%(reference)s), ne s'est pas présenté(e) au rendez-vous du %(appointment_on)s."
        ),
        ask_sender=_(
            "Vous pouvez reprendre contact avec la personne pour comprendre ce qui l'a empêchée "
            "de venir."
        ),
        ask_receiver=_(
            "Si la personne est venue, merci de saisir sa venue ; sinon, vous pouvez la "
            "réinviter à un nouveau rendez-vous."
        ),
    ),
    AlertKind.NEVER_ARRIVED: AlertRule(
        kind=AlertKind.NEVER_ARRIVED,
        statuses=(S.ACCEPTED, S.APPOINTMENT_SET, S.NO_SHOW),
        due_field="first_appointment_due_at",
        subject=_("personne jamais arrivée"),
        fact=_(
            "%(person)s, orienté(e) par %(sender)s vers %(receiver)s (orientation "
            "%(reference)s), n'a été reçu(e) à aucun rendez-vous à la fin du délai convenu "
            "(le %(due_on)s)."
        ),
        ask_sender=_("Le parcours risque de s'interrompre : reprenez contact avec la personne."),
        ask_receiver=_(
            "Merci d'indiquer où en est la personne (venue, absence, nouveau rendez-vous) ou de "
            "clôturer l'orientation."
        ),
    ),
}


@dataclass(frozen=True)
class ReminderRule:
    """A deadline of the receiver's, reminded to its counsellors before it passes (delays:
    `Agreement.reminder_hours_before`, else PARCOURS_DEFAULT_REMINDER_HOURS)."""

    deadline: ReminderDeadline
    # Referral field holding the deadline (stamped by the referral's services).
    due_field: str
    # Referral states in which the deadline still asks something of the receiver.
    statuses: tuple[str, ...]
    # E-mail wording (to the receiving organisation's counsellors; never the person's name).
    subject: Promise
    fact: Promise
    ask: Promise

    def holds_for(self, status: str, due_at: dt.datetime | None, now: dt.datetime) -> bool:
        """Still worth a reminder at `now`: the referral waits for it and it has not passed."""
        return status in self.statuses and due_at is not None and now < due_at


REMINDER_RULES: dict[str, ReminderRule] = {
    ReminderDeadline.ACKNOWLEDGE: ReminderRule(
        deadline=ReminderDeadline.ACKNOWLEDGE,
        due_field="acknowledge_due_at",
        statuses=(S.SENT,),
        subject=_("réponse attendue avant le %(due_on)s"),
        fact=_(
            "L'orientation %(reference)s, envoyée le %(sent_on)s par %(sender)s à "
            "%(receiver)s, attend votre réponse avant le %(due_at)s."
        ),
        ask=_("Merci d'accepter ou de refuser cette orientation (avec un motif) d'ici là."),
    ),
    ReminderDeadline.APPOINTMENT: ReminderRule(
        deadline=ReminderDeadline.APPOINTMENT,
        due_field="appointment_due_at",
        statuses=(S.ACCEPTED,),
        subject=_("rendez-vous à fixer avant le %(due_on)s"),
        fact=_(
            "L'orientation %(reference)s de %(sender)s vers %(receiver)s, acceptée le "
            "%(accepted_on)s, attend un premier rendez-vous fixé avant le %(due_at)s."
        ),
        ask=_("Merci de fixer un rendez-vous avec la personne d'ici là."),
    ),
    ReminderDeadline.FIRST_APPOINTMENT: ReminderRule(
        deadline=ReminderDeadline.FIRST_APPOINTMENT,
        due_field="first_appointment_due_at",
        # Not while an appointment is set: the receiver did its part (the never-arrived alert
        # says if that appointment comes too late); after an absence, a new one is wanted.
        statuses=(S.ACCEPTED, S.NO_SHOW),
        subject=_("premier rendez-vous attendu avant le %(due_on)s"),
        fact=_(
            "La personne orientée par %(sender)s vers %(receiver)s (orientation "
            "%(reference)s) est attendue à un premier rendez-vous avant le %(due_at)s."
        ),
        ask=_(
            "Merci de fixer (ou de fixer à nouveau) un rendez-vous d'ici là, ou d'indiquer où "
            "en est la personne."
        ),
    ),
}
