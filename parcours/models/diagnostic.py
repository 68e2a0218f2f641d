from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..diagnostic_domains import DiagnosticDomain, DiagnosticLevel
from ..fields import EncryptedTextField
from .organisation import Organisation
from .pathway import Pathway


class DiagnosticEntry(models.Model):
    """One version of one domain of a pathway's shared diagnostic (diagnostic partagé).

    Append-only: each write of a domain is a new row, never an update, so the rows *are* the
    domain's history (who wrote what, when, for which organisation) and no simple-history table
    is kept beside them. The current diagnostic is the latest row per domain. Written by
    `services/diagnostic.py::diagnostic_write` only; erased with the other free texts of its
    category (services/erasure.py)."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="diagnostic")
    domain = models.CharField(_("domaine"), max_length=30, choices=DiagnosticDomain.choices)
    level = models.CharField(
        _("appréciation"), max_length=20, choices=DiagnosticLevel.choices, blank=True
    )
    text = EncryptedTextField(_("situation"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rédigé par"),
        on_delete=models.PROTECT,  # the diagnostic must outlive the user
        related_name="+",
    )
    author_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("rédigé le"))

    class Meta:
        verbose_name = _("version d'un domaine du diagnostic")
        verbose_name_plural = _("versions des domaines du diagnostic")
        ordering = ["pathway_id", "domain", "-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["pathway", "domain", "-created_at", "-id"], name="diagnostic_latest_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                name="diagnostic_entry_known_domain",
                condition=models.Q(domain__in=DiagnosticDomain.values),
                violation_error_message=_("Domaine du diagnostic inconnu."),
            ),
            models.CheckConstraint(
                name="diagnostic_entry_known_level",
                condition=models.Q(level__in=["", *DiagnosticLevel.values]),
                violation_error_message=_("Appréciation inconnue."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_domain_display()} — {self.created_at:%d/%m/%Y}"
