"""Processing register extract (GDPR art. 30 support), generated from the live configuration:
the categories held, who receives them (organisations holding grants now) under which bases,
and the retention durations in force. Counts only: no record content."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from ..categories import SENSITIVE_CATEGORIES, DataCategory, permission_codename
from ..labels import legal_basis_labels
from ..models import Organisation, PathwayGroupObjectPermission
from ..models.grant import permission_ids
from .retention import RetentionRuleInForce, retention_rules_in_force

PURPOSE = (
    "Coordination des parcours d'insertion sociale et professionnelle des personnes en recherche "
    "d'emploi entre les partenaires qui les accompagnent : dossier partagé, orientations entre "
    "structures, suivi des rendez-vous, alertes de non-présentation."
)
SECURITY_MEASURES = (
    "Accès limité par catégorie de données à la base légale ou à l'accord de la personne",
    "Chiffrement des champs sensibles (NIR, coordonnées, santé, justice, textes libres)",
    "Journal de tous les accès, scellé par chaîne d'empreintes et points de contrôle signés",
    "Historique de toutes les modifications",
    "Accès d'urgence motivé, limité dans le temps et signalé au DPO",
)
BASIS_KINDS: dict[str, str] = {
    "agreement": "Convention de partenariat (catégories partagées)",
    "consent": "Accord de la personne",
}


@dataclass(frozen=True)
class CategoryHeld:
    code: str
    label: str
    sensitive: bool
    pathways: int


@dataclass(frozen=True)
class Recipient:
    organisation: str
    kind: str
    categories: dict[str, int]  # category label → pathways it may see now


@dataclass
class ProcessingRegister:
    generated_at: dt.datetime
    scope: str
    purpose: str = PURPOSE
    categories: list[CategoryHeld] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)
    bases: list[tuple[str, int]] = field(default_factory=list)  # (label, grants)
    retention: list[RetentionRuleInForce] = field(default_factory=list)
    security_measures: tuple[str, ...] = SECURITY_MEASURES


def _basis_labels() -> dict[str, str]:
    """Each kind of basis a grant row names, in words (legal ones from parcours/labels.py)."""
    return {
        **{f"legal:{code}": label for code, label in legal_basis_labels().items()},
        **BASIS_KINDS,
    }


def processing_register(*, organisation: Organisation | None) -> ProcessingRegister:
    """The extract for one organisation (the data of the pathways it holds, and who may see
    them now) or, with None, for the whole platform."""
    now = timezone.now()
    ids = permission_ids()
    category_permissions = [ids[permission_codename(c)] for c in DataCategory.values]
    grants = PathwayGroupObjectPermission.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        permission_id__in=category_permissions,
    )
    if organisation is not None:
        grants = grants.filter(content_object__owner_organisation=organisation)
    register = ProcessingRegister(
        generated_at=now,
        scope=organisation.name if organisation is not None else "Toutes les organisations",
    )
    by_permission = {v: k for k, v in ids.items()}
    per_recipient: dict[int, dict[str, int]] = {}
    for row in grants.values("group_id", "permission_id").annotate(n=Count("id")):
        category = by_permission[row["permission_id"]].removeprefix("view_pathway_")
        per_recipient.setdefault(row["group_id"], {})[category] = row["n"]
    organisations = {
        o.group_id: o for o in Organisation.objects.filter(group_id__in=list(per_recipient))
    }
    for group_id, categories in per_recipient.items():
        recipient = organisations.get(group_id)
        if recipient is None:
            continue
        register.recipients.append(
            Recipient(
                organisation=recipient.name,
                kind=recipient.get_kind_display(),
                categories={
                    str(DataCategory(code).label): count
                    for code, count in sorted(categories.items())
                },
            )
        )
    register.recipients.sort(key=lambda r: r.organisation)
    counts = {
        by_permission[row["permission_id"]].removeprefix("view_pathway_"): row["n"]
        for row in grants.values("permission_id").annotate(
            n=Count("content_object_id", distinct=True)
        )
    }
    register.categories = [
        CategoryHeld(
            code=category.value,
            label=str(category.label),
            sensitive=category.value in SENSITIVE_CATEGORIES,
            pathways=counts.get(category.value, 0),
        )
        for category in DataCategory
    ]
    # One pass over the grants: a conditional count per kind of basis ("consent:12" → consent).
    labels = _basis_labels()
    aliases = {code: f"basis_{n}" for n, code in enumerate(labels)}
    basis_counts = grants.aggregate(
        **{
            aliases[code]: Count(
                "id", filter=Q(basis__contains=code if ":" in code else code + ":")
            )
            for code in labels
        }
    )
    register.bases = [
        (label, basis_counts[aliases[code]])
        for code, label in labels.items()
        if basis_counts[aliases[code]]
    ]
    register.retention = retention_rules_in_force()
    return register
