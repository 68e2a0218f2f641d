import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .alert import Alert
from .preference import DeliveryMode
from .reminder import Reminder
from .rights_end import RightsEndWarning


class Audience(models.TextChoices):
    """Why a recipient is told: the wording of the e-mail depends on it."""

    SENDER = "sender", _("Prescripteur")
    RECEIVER = "receiver", _("Structure destinataire")
    SENDER_MANAGER = "sender_manager", _("Responsable du prescripteur")
    RECEIVER_MANAGER = "receiver_manager", _("Responsable de la structure destinataire")
    # The receiving organisation's area's coordinator (an escalation's last rung): no name.
    COORDINATOR = "coordinator", _("Coordinateur territorial")


class OutboxKind(models.TextChoices):
    ALERT = "alert", _("Alerte")
    DIGEST = "digest", _("Récapitulatif quotidien")
    BREAK_GLASS = "break_glass", _("Accès exceptionnel (au DPO)")
    CORRECTION = "correction", _("Correction d'une venue ou d'une absence")
    REMINDER = "reminder", _("Rappel d'échéance (au destinataire)")
    ANSWER = "answer", _("Réponse à une orientation envoyée")
    REFERRAL_MESSAGE = "referral_message", _("Nouveau message sur une orientation")
    SIGN_IN_REQUEST = "sign_in_request", _("Connexion ProConnect refusée (aux administrateurs)")
    RIGHTS_END = "rights_end", _("Fin de droits à venir (au référent)")
    PERSON_CODE = "person_code", _("Code de connexion à l'espace personnel (à la personne)")
    RECEIVER_LINK = "receiver_link", _("Lien d'accès sans compte (au destinataire)")


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("À envoyer")
    SENDING = "sending", _("En cours d'envoi")
    SENT = "sent", _("Envoyé")
    FAILED = "failed", _("Échec définitif")
    CANCELLED = "cancelled", _("Annulé")  # why: last_error (alert resolved, an operator…)


class OutboxMessage(models.Model):
    """One e-mail to one address, written in the transaction that decided it must go out, sent
    later by the relay (notifications/services/relay.py). The database is the source of truth:
    a lost broker message only delays it until the next relay pass."""

    kind = models.CharField(_("type"), max_length=20, choices=OutboxKind.choices)
    to_email = models.EmailField(_("destinataire"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # What a break-glass notice is about; the e-mail is built from it when it is sent. SET_NULL:
    # were the opening ever deleted, its unsent notice is cancelled rather than blocking it.
    break_glass = models.ForeignKey(
        "parcours.BreakGlass",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accès exceptionnel"),
    )
    # What a correction notice or an answer to the sender is about: the timeline event of the
    # move (its referral, the state it reached, who made it and when); the e-mail is built from
    # it when it is sent.
    event = models.ForeignKey(
        "parcours.PathwayEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("événement"),
    )
    # What a message notice is about: the message posted on a referral (never its text in the
    # e-mail); SET_NULL like the others, an unsent notice without its message is cancelled.
    referral_message = models.ForeignKey(
        "parcours.ReferralMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("message sur une orientation"),
    )
    # What a reminder is about (its referral and deadline); the e-mail is built from it when it
    # is sent, and not sent if the referral moved on meanwhile.
    reminder = models.ForeignKey(
        Reminder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("rappel"),
    )
    # What a sign-in notice is about: a ProConnect sign-in refused (unknown SIRET, account
    # awaiting activation); the e-mail is built from it when it is sent.
    sign_in_request = models.ForeignKey(
        "parcours.SignInRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("connexion ProConnect refusée"),
    )
    # What a benefit-transition warning is about (a pathway, an announced end of rights); the
    # e-mail is built from it when it is sent. SET_NULL: a pathway erased meanwhile cancels it.
    rights_end_warning = models.ForeignKey(
        RightsEndWarning,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("alerte de fin de droits"),
    )
    # The one-time code a person asked for to open their space (issue 19): the e-mail is built
    # from it when sent (its code is gone once used, locked or expired: nothing is sent then).
    person_sign_in_code = models.ForeignKey(
        "parcours.PersonSignInCode",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("code de connexion de la personne"),
    )
    # What a receiver's link e-mail carries (issue 19): the link made for a referral sent to an
    # organisation without an account; the e-mail is built from it (its token, kept encrypted)
    # when it is sent, and not sent if the link was revoked or expired meanwhile.
    receiver_link = models.ForeignKey(
        "parcours.ReceiverLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lien d'accès sans compte"),
    )
    status = models.CharField(
        _("état"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"))
    claimed_at = models.DateTimeField(_("pris en charge le"), null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    failed_at = models.DateTimeField(_("échec constaté le"), null=True, blank=True)
    smtp_code = models.PositiveSmallIntegerField(_("code SMTP"), null=True, blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    created_at = models.DateTimeField(_("créé le"))

    class Meta:
        verbose_name = _("e-mail sortant")
        verbose_name_plural = _("e-mails sortants")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="outbox_pending_idx",
            ),
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="outbox_sending_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="outbox_sent_has_date",
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                violation_error_message=_("Un e-mail envoyé a une date d'envoi."),
            ),
            models.CheckConstraint(
                name="outbox_sending_is_claimed",
                condition=~Q(status="sending")
                | (Q(claimed_at__isnull=False) & Q(claim_token__isnull=False)),
                violation_error_message=_("Un e-mail en cours d'envoi a été pris en charge."),
            ),
            # One notice per DPO address and opening, whatever runs twice.
            models.UniqueConstraint(
                fields=["break_glass", "to_email"],
                condition=Q(break_glass__isnull=False),
                name="outbox_once_per_break_glass_address",
                violation_error_message=_("Ce DPO est déjà prévenu de cet accès exceptionnel."),
            ),
            # One e-mail per address and move (a correction, an answer to the sender), whatever
            # runs twice.
            models.UniqueConstraint(
                fields=["event", "to_email"],
                condition=Q(event__isnull=False),
                name="outbox_once_per_event_address",
                violation_error_message=_("Cette adresse est déjà prévenue de cet événement."),
            ),
            # One notice per address and message, whatever runs twice.
            models.UniqueConstraint(
                fields=["referral_message", "to_email"],
                condition=Q(referral_message__isnull=False),
                name="outbox_once_per_referral_message_address",
                violation_error_message=_("Cette adresse est déjà prévenue de ce message."),
            ),
            # One notice per administrator's address and refused sign-in, however often the
            # agent tries again.
            models.UniqueConstraint(
                fields=["sign_in_request", "to_email"],
                condition=Q(sign_in_request__isnull=False),
                name="outbox_once_per_sign_in_request_address",
                violation_error_message=_(
                    "Cette adresse est déjà prévenue de cette connexion refusée."
                ),
            ),
            # One reminder e-mail per address and reminder (a referral's deadline).
            models.UniqueConstraint(
                fields=["reminder", "to_email"],
                condition=Q(reminder__isnull=False),
                name="outbox_once_per_reminder_address",
                violation_error_message=_("Cette adresse a déjà reçu ce rappel."),
            ),
            # One e-mail per receiver's link (to its organisation's contact address).
            models.UniqueConstraint(
                fields=["receiver_link", "to_email"],
                condition=Q(receiver_link__isnull=False),
                name="outbox_once_per_receiver_link_address",
                violation_error_message=_("Cette adresse a déjà reçu ce lien d'accès."),
            ),
            # One benefit-transition e-mail per address and warning.
            models.UniqueConstraint(
                fields=["rights_end_warning", "to_email"],
                condition=Q(rights_end_warning__isnull=False),
                name="outbox_once_per_rights_end_address",
                violation_error_message=_(
                    "Cette adresse est déjà prévenue de cette fin de droits."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} n°{self.pk} → {self.to_email}"

    @property
    def message_id(self) -> str:
        """Deterministic Message-ID: a re-send after a crash carries the same id, so a duplicate
        is recognisable (and merged by most mail clients)."""
        domain = settings.PARCOURS_MAIL_DOMAIN
        stamp = hashlib.sha256(
            f"{self.pk}:{self.created_at.isoformat()}:{self.to_email}".encode()
        ).hexdigest()[:16]
        return f"<parcours.{self.kind}.{self.pk}.{stamp}@{domain}>"


class Delivery(models.Model):
    """An alert for one recipient. Immediate: linked to its own outbox message at once; digest:
    linked to the recipient's daily digest message when it is composed."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    audience = models.CharField(
        _("destinataire au titre de"), max_length=20, choices=Audience.choices
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(_("adresse"))
    mode = models.CharField(_("mode"), max_length=10, choices=DeliveryMode.choices)
    outbox = models.ForeignKey(
        OutboxMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    created_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("destinataire d'alerte")
        verbose_name_plural = _("destinataires d'alerte")
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "email"],
                name="delivery_once_per_alert_address",
                violation_error_message=_("Cette adresse est déjà destinataire de l'alerte."),
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=Q(mode="digest", outbox__isnull=True, cancelled_at__isnull=True),
                name="delivery_awaiting_digest_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_audience_display()}) — alerte {self.alert_id}"
