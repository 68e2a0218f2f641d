from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..categories import PATHWAY_PERMISSIONS
from ..fields import EncryptedTextField
from .organisation import Organisation
from .person import Person


class PathwayStatus(models.TextChoices):
    OPEN = "open", _("Ouvert")
    CLOSED = "closed", _("Clôturé")


class PathwayOutcome(models.TextChoices):
    JOB = "job", _("Emploi")
    TRAINING = "training", _("Formation")
    OTHER = "other", _("Autre sortie")
    LOST_CONTACT = "lost_contact", _("Perte de contact")


class SupportModality(models.TextChoices):
    SUIVI = "suivi", _("Suivi")
    GUIDE = "guide", _("Guidé")
    RENFORCE = "renforce", _("Renforcé")
    ACCOMPAGNEMENT_GLOBAL = "accompagnement_global", _("Accompagnement global")


class Pathway(models.Model):
    """Le parcours: the shared record of one person's support. One open pathway per person."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="pathways")
    owner_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation propriétaire"),
        on_delete=models.PROTECT,
        related_name="owned_pathways",
    )
    referent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("référent unique"),
        on_delete=models.PROTECT,
        related_name="pathways_as_referent",
        null=True,
        blank=True,
    )
    referent_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation du référent"),
        on_delete=models.PROTECT,
        related_name="pathways_as_referent_organisation",
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=PathwayStatus.choices, default=PathwayStatus.OPEN
    )
    modality = models.CharField(
        _("modalité d'accompagnement"),
        max_length=30,
        choices=SupportModality.choices,
        default=SupportModality.SUIVI,
    )
    diagnostic_summary = EncryptedTextField(_("synthèse du diagnostic"), blank=True)
    outcome = models.CharField(
        _("motif de sortie"), max_length=20, choices=PathwayOutcome.choices, blank=True
    )
    opened_at = models.DateTimeField(_("ouvert le"))
    closed_at = models.DateTimeField(_("clôturé le"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Retention (docs/retention.md). The last contact is the clock of every retention delay:
    # stamped by the services that record activity (services/last_contact.py), so the daily job
    # reads a range of an index instead of aggregating timelines.
    last_contact_at = models.DateTimeField(_("dernier contact le"), editable=False)
    archived_at = models.DateTimeField(_("archivé le"), null=True, blank=True, editable=False)
    anonymised_at = models.DateTimeField(_("anonymisé le"), null=True, blank=True, editable=False)
    # Categories whose data were erased ahead of the anonymisation (a shorter rule); emptied by
    # the next contact, which may bring new data of those categories. A database default too:
    # the bulk loaders (seed_scale's COPY) bypass the ORM.
    erased_categories = models.JSONField(
        _("catégories effacées"),
        default=list,
        db_default=models.Value([], output_field=models.JSONField()),
        blank=True,
        editable=False,
    )
    # The stamps change on every event without being a change of the record: not historied.
    history = HistoricalRecords(excluded_fields=["last_contact_at", "erased_categories"])

    class Meta:
        verbose_name = _("parcours")
        verbose_name_plural = _("parcours")
        ordering = ["-updated_at", "-id"]
        permissions = tuple(PATHWAY_PERMISSIONS)
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="pathway_recent_idx"),
            models.Index(fields=["owner_organisation", "status"], name="pathway_owner_status_idx"),
            # The retention job's two scans (keyset over last contact): each partial index holds
            # only the pathways still to archive, or still to anonymise.
            models.Index(
                fields=["last_contact_at", "id"],
                condition=models.Q(archived_at__isnull=True),
                name="pathway_to_archive_idx",
            ),
            models.Index(
                fields=["last_contact_at", "id"],
                condition=models.Q(anonymised_at__isnull=True),
                name="pathway_to_anonymise_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status="open"),
                name="pathway_one_open_per_person",
                violation_error_message=_("Cette personne a déjà un parcours ouvert."),
            ),
            models.CheckConstraint(
                name="pathway_closed_has_outcome_and_date",
                condition=(
                    models.Q(status="open", closed_at__isnull=True, outcome="")
                    | (models.Q(status="closed", closed_at__isnull=False) & ~models.Q(outcome=""))
                ),
                violation_error_message=_(
                    "Un parcours clôturé a une date et un motif de sortie ; "
                    "un parcours ouvert n'en a pas."
                ),
            ),
            models.CheckConstraint(
                name="pathway_closed_after_opened",
                condition=models.Q(closed_at__isnull=True)
                | models.Q(closed_at__gte=models.F("opened_at")),
                violation_error_message=_("La clôture ne peut précéder l'ouverture."),
            ),
            models.CheckConstraint(
                name="pathway_anonymised_was_archived",
                condition=models.Q(anonymised_at__isnull=True)
                | models.Q(archived_at__isnull=False),
                violation_error_message=_("Un parcours anonymisé est archivé."),
            ),
        ]

    def __str__(self) -> str:
        return f"Parcours n°{self.pk} de {self.person}"

    def save(self, *args, **kwargs) -> None:
        # Opening is the first contact (also for rows built outside the services, e.g. tests).
        if self.last_contact_at is None:
            self.last_contact_at = self.opened_at
        super().save(*args, **kwargs)


class ModalityPeriod(models.Model):
    """Dated history of the support modality: one row per period, the open one is current."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="modality_periods")
    modality = models.CharField(_("modalité"), max_length=30, choices=SupportModality.choices)
    started_at = models.DateTimeField(_("depuis le"))
    ended_at = models.DateTimeField(_("jusqu'au"), null=True, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        verbose_name = _("période de modalité")
        verbose_name_plural = _("périodes de modalité")
        ordering = ["pathway_id", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pathway"],
                condition=models.Q(ended_at__isnull=True),
                name="modality_one_current_period",
                violation_error_message=_("Une seule modalité peut être en cours."),
            ),
            models.CheckConstraint(
                name="modality_period_ends_after_start",
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gte=models.F("started_at")),
                violation_error_message=_("La fin d'une période ne peut précéder son début."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display()} depuis le {self.started_at:%d/%m/%Y}"


class BarrierKind(models.TextChoices):
    HOUSING = "housing", _("Logement")
    MOBILITY = "mobility", _("Mobilité")
    HEALTH = "health", _("Santé")
    CHILDCARE = "childcare", _("Garde d'enfants")
    DEBT = "debt", _("Difficultés financières")
    ISOLATION = "isolation", _("Isolement")
    ACCESS_TO_RIGHTS = "access_to_rights", _("Accès aux droits")
    ILLITERACY = "illiteracy", _("Illettrisme")
    LANGUAGE = "language", _("Maîtrise du français")
    DIGITAL = "digital", _("Compétences numériques")
    ADDICTION = "addiction", _("Addictions")


class BarrierStatus(models.TextChoices):
    IDENTIFIED = "identified", _("Repéré")
    IN_PROGRESS = "in_progress", _("En cours de levée")
    RESOLVED = "resolved", _("Levé")


class Barrier(models.Model):
    """Frein périphérique: one row per kind and pathway; status changes are dated in history."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="barriers")
    kind = models.CharField(_("frein"), max_length=20, choices=BarrierKind.choices)
    status = models.CharField(
        _("statut"), max_length=20, choices=BarrierStatus.choices, default=BarrierStatus.IDENTIFIED
    )
    detail = EncryptedTextField(_("précisions"), blank=True)
    identified_at = models.DateTimeField(_("repéré le"))
    resolved_at = models.DateTimeField(_("levé le"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("frein périphérique")
        verbose_name_plural = _("freins périphériques")
        ordering = ["pathway_id", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["pathway", "kind"],
                name="barrier_unique_kind_per_pathway",
                violation_error_message=_("Ce frein est déjà repéré sur ce parcours."),
            ),
            models.CheckConstraint(
                name="barrier_resolved_has_date",
                condition=(models.Q(status="resolved") & models.Q(resolved_at__isnull=False))
                | (~models.Q(status="resolved") & models.Q(resolved_at__isnull=True)),
                violation_error_message=_("Un frein levé a une date de levée, et seulement lui."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"
