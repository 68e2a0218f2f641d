"""Answers pushed back to the sender (issue 14): each move the receiver makes on a referral
reaches the sending counsellor as an « À traiter » item and an e-mail (at once or in the daily
digest, as they chose). One `AnswerNotice` per (move, recipient), written in the move's own
transaction by the receiver of `parcours.signals.referral_moved` (notifications/receivers.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parcours.models import Appointment, PathwayEvent, Referral, ReferralStatus
from parcours.transitions import Action

from .outbox import OutboxMessage
from .preference import DeliveryMode


class AnswerKind(models.TextChoices):
    """What the receiver did, as the sender reads it (an appointment set for the first time,
    moved, or a re-invitation after an absence are three different pieces of news)."""

    ACCEPTED = "accepted", _("Orientation acceptée")
    REFUSED = "refused", _("Orientation refusée")
    APPOINTMENT_SET = "appointment_set", _("Rendez-vous fixé")
    APPOINTMENT_MOVED = "appointment_moved", _("Rendez-vous déplacé")
    REINVITED = "reinvited", _("Personne réinvitée après une absence")
    ATTENDED = "attended", _("Personne venue au rendez-vous")
    NO_SHOW = "no_show", _("Personne absente au rendez-vous")
    CLOSED = "closed", _("Orientation clôturée")
    TRANSFER_PROPOSED = "transfer_proposed", _("Réorientation proposée")
    TRANSFERRED = "transferred", _("Personne réorientée")


# The receiver's moves the sender is told about, keyed by (move, state it left). A move absent
# from this table tells the sender nothing here: its own moves (send, withdraw), the system's
# expiry (an alert and the sent-referrals list say it), and the correction of an attendance or
# absence, which has its own e-mail to both partners (services/correction.py).
ANSWER_OF_MOVE: dict[tuple[Action, str | None], AnswerKind] = {
    (Action.ACCEPT, None): AnswerKind.ACCEPTED,
    (Action.REFUSE, None): AnswerKind.REFUSED,
    (Action.SET_APPOINTMENT, ReferralStatus.ACCEPTED): AnswerKind.APPOINTMENT_SET,
    (Action.SET_APPOINTMENT, ReferralStatus.APPOINTMENT_SET): AnswerKind.APPOINTMENT_MOVED,
    (Action.SET_APPOINTMENT, ReferralStatus.NO_SHOW): AnswerKind.REINVITED,
    (Action.RECORD_ATTENDANCE, None): AnswerKind.ATTENDED,
    (Action.RECORD_NO_SHOW, None): AnswerKind.NO_SHOW,
    (Action.CLOSE, None): AnswerKind.CLOSED,
    # A réorientation waits on the sender's answer; one within an agreement tells where the
    # person went (the sender confirming or declining is its own move: nothing to tell it).
    (Action.PROPOSE_TRANSFER, None): AnswerKind.TRANSFER_PROPOSED,
    (Action.TRANSFER_UNDER_AGREEMENT, None): AnswerKind.TRANSFERRED,
}


def answer_kind_of(action: str, source: str | None) -> AnswerKind | None:
    """The answer a move is, from the transitions table's action and the state it left (None
    for the moves whose source does not change what the sender reads)."""
    return ANSWER_OF_MOVE.get((Action(action), source)) or ANSWER_OF_MOVE.get(
        (Action(action), None)
    )


class AnswerNotice(models.Model):
    """One receiver's move told to one recipient on the sending side: an « À traiter » item
    until they mark it seen, and its e-mail — its own outbox row (immediate) or a line of the
    daily digest (`outbox` is then the digest that carried it, set once under a row lock).

    A notice without a user is the sending organisation's contact address, told when no
    counsellor of it can be (an e-mail only: nobody's home shows it)."""

    referral = models.ForeignKey(
        Referral,
        verbose_name=_("orientation"),
        on_delete=models.CASCADE,  # a notice is about its referral, nothing else
        related_name="answer_notices",
    )
    # The move's timeline event: when, by which organisation, which state it reached.
    event = models.ForeignKey(
        PathwayEvent, verbose_name=_("événement"), on_delete=models.CASCADE, related_name="+"
    )
    answer = models.CharField(_("réponse"), max_length=20, choices=AnswerKind.choices)
    # The appointment the move set (set, moved, re-invitation): its date is part of the news.
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("destinataire"),
        on_delete=models.CASCADE,  # a user's own to-do item
        null=True,
        blank=True,
        related_name="answer_notices",
    )
    # Where the e-mail goes; blank for a user without an address (the home item only).
    email = models.EmailField(_("adresse"), blank=True)
    mode = models.CharField(
        _("envoi"), max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.IMMEDIATE
    )
    outbox = models.ForeignKey(
        OutboxMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answer_notices",
        verbose_name=_("e-mail"),
    )
    created_at = models.DateTimeField(_("reçue le"))
    seen_at = models.DateTimeField(_("vue le"), null=True, blank=True)

    class Meta:
        verbose_name = _("réponse reçue")
        verbose_name_plural = _("réponses reçues")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Whatever runs twice, one item per user and move, one e-mail per address and move.
            models.UniqueConstraint(
                fields=["event", "recipient"],
                condition=Q(recipient__isnull=False),
                name="answer_notice_once_per_event_user",
                violation_error_message=_("Cette personne est déjà prévenue de cette réponse."),
            ),
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=~Q(email=""),
                name="answer_notice_once_per_event_address",
                violation_error_message=_("Cette adresse est déjà prévenue de cette réponse."),
            ),
            models.CheckConstraint(
                name="answer_notice_has_someone",
                condition=Q(recipient__isnull=False) | ~Q(email=""),
                violation_error_message=_("Une réponse est adressée à quelqu'un."),
            ),
            models.CheckConstraint(
                name="answer_notice_digest_is_a_users",
                condition=~Q(mode="digest") | Q(recipient__isnull=False),
                violation_error_message=_(
                    "Seul un utilisateur reçoit ses réponses dans un récapitulatif."
                ),
            ),
        ]
        indexes = [
            # « À traiter »: a user's unseen answers, newest first.
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(seen_at__isnull=True),
                name="answer_notice_unseen_idx",
            ),
            # The daily digest: answers waiting for their e-mail.
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(mode="digest", outbox__isnull=True, seen_at__isnull=True),
                name="answer_notice_digest_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_answer_display()} — orientation {self.referral_id} → {self.email}"
