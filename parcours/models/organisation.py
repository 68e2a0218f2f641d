from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from stdnum.fr import siret

from ..folding import Folded
from .territory import EmploymentArea, departement_code_validator


class OrganisationKind(models.TextChoices):
    FRANCE_TRAVAIL = "france_travail", _("France Travail")
    DEPARTEMENT = "departement", _("Conseil départemental")
    MISSION_LOCALE = "mission_locale", _("Mission locale")
    CAP_EMPLOI = "cap_emploi", _("Cap emploi")
    SIAE = "siae", _("Structure d'insertion par l'activité économique")
    PLIE = "plie", _("PLIE")
    CCAS = "ccas", _("CCAS / CIAS")
    ASSOCIATION = "association", _("Association")


class SiaeKind(models.TextChoices):
    ACI = "ACI", _("Atelier et chantier d'insertion")
    EI = "EI", _("Entreprise d'insertion")
    AI = "AI", _("Association intermédiaire")
    ETTI = "ETTI", _("Entreprise de travail temporaire d'insertion")
    EITI = "EITI", _("Entreprise d'insertion par le travail indépendant")


def validate_siret(value: str) -> None:
    if not siret.is_valid(value):
        raise ValidationError(_("SIRET invalide : 14 chiffres avec une clé de contrôle correcte."))


class Organisation(models.Model):
    """A partner structure. Its Django Group carries the object permissions of its members."""

    kind = models.CharField(_("type"), max_length=20, choices=OrganisationKind.choices)
    siae_kind = models.CharField(
        _("type de SIAE"), max_length=4, choices=SiaeKind.choices, blank=True
    )
    name = models.CharField(_("nom"), max_length=200)
    # The name as the directory's search compares it (accents and case aside), computed by the
    # database on every write — bulk ones included — so a search reads a column instead of
    # folding 2,000 names per keystroke (parcours/folding.py).
    name_folded = models.GeneratedField(
        expression=Folded("name"), output_field=models.CharField(max_length=200), db_persist=True
    )
    siret = models.CharField(_("SIRET"), max_length=14, unique=True, validators=[validate_siret])
    departement = models.CharField(
        _("département"), max_length=3, validators=[departement_code_validator]
    )
    employment_area = models.ForeignKey(
        EmploymentArea,
        verbose_name=_("bassin d'emploi"),
        on_delete=models.PROTECT,
        related_name="organisations",
    )
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    contact_email = models.EmailField(_("e-mail de contact"))
    group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="organisation", editable=False
    )
    # Per-receiver overrides of the settings defaults, used when no agreement covers a pair.
    acknowledge_within_working_days = models.PositiveSmallIntegerField(
        _("délai de réponse (jours ouvrés)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )
    first_appointment_within_days = models.PositiveSmallIntegerField(
        _("délai de premier rendez-vous (jours)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["name_folded"])

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="organisation_siae_kind_only_for_siae",
                condition=(models.Q(kind="siae") & ~models.Q(siae_kind=""))
                | (~models.Q(kind="siae") & models.Q(siae_kind="")),
                violation_error_message=_(
                    "Le type de SIAE est obligatoire pour une SIAE et interdit sinon."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """Offre de services: what an organisation offers and how fast it usually sees people."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="services"
    )
    name = models.CharField(_("nom"), max_length=200)
    name_folded = models.GeneratedField(  # as Organisation.name_folded
        expression=Folded("name"), output_field=models.CharField(max_length=200), db_persist=True
    )
    description = models.TextField(_("description"), blank=True)
    eligibility = models.TextField(_("conditions d'accès"), blank=True)
    # Freins périphériques the service works on (BarrierKind codes): the referral form's directory
    # filters on them.
    barriers_addressed = models.JSONField(_("freins traités"), default=list, blank=True)
    usual_delay_days = models.PositiveSmallIntegerField(
        _("délai habituel avant premier rendez-vous (jours)"), default=15
    )
    is_active = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["organisation_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                name="service_unique_name_per_organisation",
                violation_error_message=_("Cette organisation propose déjà un service de ce nom."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.organisation}"
