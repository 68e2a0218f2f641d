from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .organisation import Organisation
from .territory import EmploymentArea


class Role(models.TextChoices):
    COUNSELLOR = "counsellor", _("Conseiller")
    SOCIAL_WORKER = "social_worker", _("Travailleur social")
    MANAGER = "manager", _("Responsable de structure")
    DPO = "dpo", _("Délégué à la protection des données")
    # Sees the DPO reports of every organisation (e.g. the platform operator's DPO); no content.
    NATIONAL_DPO = "national_dpo", _("Délégué à la protection des données (national)")
    ADMIN = "admin", _("Administrateur")
    # Steers the partnership of one or more employment areas (e.g. for the DDETS or the
    # département): the areas' aggregates across partners, never a person's record.
    COORDINATOR = "coordinator", _("Coordinateur territorial")


# Roles whose members work on people's records; DPOs and admins never read content.
CASEWORK_ROLES = frozenset({Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.MANAGER})
# Roles that read the DPO reports (who saw what); they never read record content.
DPO_ROLES = frozenset({Role.DPO, Role.NATIONAL_DPO})


class Membership(models.Model):
    """A user belongs to an organisation with one role; they act for one organisation at a time."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # The employment areas a territorial coordinator covers (empty for every other role).
    employment_areas = models.ManyToManyField(
        EmploymentArea,
        blank=True,
        related_name="coordinator_memberships",
        verbose_name=_("bassins d'emploi coordonnés"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("appartenance")
        verbose_name_plural = _("appartenances")
        ordering = ["organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                name="membership_unique_user_organisation",
                violation_error_message=_("Cet utilisateur appartient déjà à cette organisation."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.organisation} ({self.get_role_display()})"

    def check_employment_areas(self, areas) -> None:
        """Refuse employment areas on a membership that coordinates none (the admin's form
        and the services call this before saving the areas: a many-to-many is saved after the
        row, out of `clean()`'s reach)."""
        if areas and self.role != Role.COORDINATOR:
            raise ValidationError(
                {
                    "employment_areas": _(
                        "Seul un coordinateur territorial couvre des bassins d'emploi : "
                        "retirez les bassins ou choisissez ce rôle."
                    )
                }
            )
