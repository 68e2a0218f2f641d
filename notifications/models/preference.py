from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryMode(models.TextChoices):
    IMMEDIATE = "immediate", _("Immédiatement, un e-mail par alerte")
    DIGEST = "digest", _("Un récapitulatif quotidien")


class NotificationPreference(models.Model):
    """How a user wants their e-mails: alerts (`mode`) and the answers to the referrals they
    sent (`answers_mode`, issue 14) — two choices, because answers come far more often than
    alerts. No row means immediate for both."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    mode = models.CharField(
        _("réception des alertes"),
        max_length=10,
        choices=DeliveryMode.choices,
        default=DeliveryMode.IMMEDIATE,
    )
    answers_mode = models.CharField(
        _("réception des réponses à vos orientations"),
        max_length=10,
        choices=DeliveryMode.choices,
        default=DeliveryMode.IMMEDIATE,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("préférence de notification")
        verbose_name_plural = _("préférences de notification")

    def __str__(self) -> str:
        return (
            f"{self.user} — alertes : {self.get_mode_display()} ; "
            f"réponses : {self.get_answers_mode_display()}"
        )
