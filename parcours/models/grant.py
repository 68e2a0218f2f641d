"""Materialised access rights: django-guardian direct foreign-key object permissions on Pathway.

Rows are written only by `parcours.services.access_grants.access_recompute`. Direct FK tables (not
guardian's generic one) keep scoped lists fast at a million pathways (docs/performance.md).
Each row is one **interval** during which some bases cover one category for one holder:
`valid_from` (None: already in force) to `valid_until` (None: no end). A consent or an agreement
that starts next month is a row from next month, so it opens on time without any job; one that
ends is not read after its end. Bases with different intervals are different rows; reads ask
"is there a row in force now" (`parcours.access`). `relations` names how the organisation stands
to the pathway (owner, receiver…) for the bases of the row — the reasons whose spans carry it,
`selectors/relationships.py` —: the purpose journaled with each read (ADR 0010).
"""

from functools import cache

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from ..categories import ALL_CATEGORIES, permission_codename
from .organisation import Organisation
from .pathway import Pathway

CHANGE_PERMISSION = "change_pathway"


class PathwayGroupObjectPermission(GroupObjectPermissionBase):
    """What an organisation (its Group) may see of one pathway, category by category."""

    # db_index=False: `pathway_grant_object_idx` below is the same index, named; a second copy
    # only made each of the ~10 M grant rows' inserts maintain one more (issue 17).
    content_object = models.ForeignKey(Pathway, on_delete=models.CASCADE, db_index=False)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    # The bases behind the grant, e.g. "legal:rsa consent:12": journaled with every read.
    basis = models.CharField(max_length=200, blank=True)
    relations = models.CharField(max_length=100, blank=True)  # "owner referent"

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = False
        # One row per interval: guardian's (group, permission, object) uniqueness would allow
        # only one. The same columns lead the index, so the EXISTS lookups keep their plan.
        unique_together = []  # type: ignore[var-annotated]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "permission", "content_object", "valid_from", "valid_until"],
                nulls_distinct=False,
                name="pathway_grant_interval_unique",
                violation_error_message="Ce droit existe déjà pour cette période.",
            )
        ]
        indexes = [
            models.Index(fields=["group", "content_object"], name="pathway_grant_group_idx"),
            models.Index(fields=["content_object"], name="pathway_grant_object_idx"),
        ]


class PathwayUserObjectPermission(UserObjectPermissionBase):
    """Personal, temporary grants (break-glass): one user, one category, until `valid_until`."""

    content_object = models.ForeignKey(Pathway, on_delete=models.CASCADE)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    basis = models.CharField(max_length=200, blank=True)
    relations = models.CharField(max_length=100, blank=True)

    class Meta(UserObjectPermissionBase.Meta):
        abstract = False
        unique_together = []  # type: ignore[var-annotated]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "permission", "content_object", "valid_from", "valid_until"],
                nulls_distinct=False,
                name="pathway_ugrant_interval_unique",
                violation_error_message="Ce droit existe déjà pour cette période.",
            )
        ]
        indexes = [
            models.Index(fields=["user", "content_object"], name="pathway_ugrant_user_idx"),
        ]


class PendingRecompute(models.Model):
    """An organisation whose pathways' rights must be recomputed, because an agreement it signs
    changed. Written in the agreement's transaction and deleted by the recompute once done, so
    a lost broker message only delays the recompute until the next periodic run
    (services/access_grants.py::access_recompute_pending)."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # Renewed by every new request: a mark renewed while a recompute runs survives it.
    requested_at = models.DateTimeField(_("demandé le"))
    # How far a recompute stopped by its time budget got (the last pathway id done since
    # `requested_at`); the next run goes on from there. A renewed mark starts again from 0.
    done_up_to = models.BigIntegerField(_("recalculé jusqu'au parcours n°"), default=0)

    class Meta:
        verbose_name = _("recalcul des droits en attente")
        verbose_name_plural = _("recalculs des droits en attente")

    def __str__(self) -> str:
        return f"Recalcul en attente : organisation n°{self.organisation_id}"


@cache
def permission_ids() -> dict[str, int]:
    """codename → id of the pathway permissions (cached; cleared when tables are re-created)."""
    content_type = ContentType.objects.get_for_model(Pathway)
    codenames = [permission_codename(c) for c in ALL_CATEGORIES] + [CHANGE_PERMISSION]
    return dict(
        Permission.objects.filter(content_type=content_type, codename__in=codenames).values_list(
            "codename", "id"
        )
    )


def _forget_permission_ids(**kwargs) -> None:
    permission_ids.cache_clear()


post_migrate.connect(_forget_permission_ids, dispatch_uid="parcours_forget_permission_ids")
