"""Retention durations (durées de conservation), one row per data category plus the journal.

The pathway category's rule drives the whole record: a pathway is archived `active_months` after
its last contact and anonymised `archived_months` later. Another category whose total is shorter
has its own data erased earlier; a longer one is capped by the pathway's (the record is gone).
The journal's rule is how long access-journal rows are kept (no archive phase). A missing row
means the default below. See docs/retention.md.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..categories import DataCategory

JOURNAL = "journal"

RETENTION_SUBJECTS: list[tuple[str, str]] = [(c.value, str(c.label)) for c in DataCategory] + [
    (JOURNAL, "Journal des accès")
]

CASF = "CASF art. R.263-8"


# category → (active months, archived months, legal reference). Defaults follow the issue:
# CASF R.263-8 (2 years active after the last contact, 2 years archived), and the CNIL's
# recommendation on logging (délibération n° 2021-122: 6 months to 1 year) for the journal.
DEFAULT_RULES: dict[str, tuple[int, int, str]] = {
    DataCategory.IDENTITY: (24, 24, CASF),
    DataCategory.CONTACT: (24, 24, CASF),
    DataCategory.PATHWAY: (24, 24, CASF),
    DataCategory.SOCIAL: (24, 24, CASF),
    DataCategory.HEALTH: (24, 24, f"{CASF} ; RGPD art. 9"),
    DataCategory.JUSTICE: (24, 24, f"{CASF} ; RGPD art. 10"),
    JOURNAL: (12, 0, "CNIL délibération n° 2021-122"),
}


class RetentionRule(models.Model):
    """How long one category of data is kept after the last contact. Superusers edit it in the
    admin; changes are historied (who shortened what, when)."""

    category = models.CharField(
        _("catégorie"), max_length=20, choices=RETENTION_SUBJECTS, unique=True
    )
    active_months = models.PositiveSmallIntegerField(
        _("durée active (mois après le dernier contact)"),
        default=24,
        validators=[MinValueValidator(1)],
    )
    archived_months = models.PositiveSmallIntegerField(
        _("durée d'archivage (mois, puis anonymisation)"), default=24
    )
    reference = models.CharField(_("référence juridique"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("durée de conservation")
        verbose_name_plural = _("durées de conservation")
        ordering = ["category"]
        constraints = [
            models.CheckConstraint(
                name="retention_active_at_least_one_month",
                condition=Q(active_months__gte=1),
                violation_error_message=_("La durée active est d'au moins un mois."),
            ),
            models.CheckConstraint(
                name="retention_journal_has_no_archive",
                condition=~Q(category=JOURNAL) | Q(archived_months=0),
                violation_error_message=_(
                    "Le journal des accès n'a pas de phase d'archivage : il est purgé au terme "
                    "de sa durée active."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} : {self.active_months} + {self.archived_months} mois"

    @property
    def total_months(self) -> int:
        return self.active_months + self.archived_months

    def clean(self) -> None:
        super().clean()
        if self.category == JOURNAL and self.archived_months:
            raise ValidationError(
                {"archived_months": _("Le journal des accès n'a pas de phase d'archivage.")}
            )
