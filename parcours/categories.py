"""Data categories: every field of a person's record belongs to exactly one.

Access is granted per category (see parcours/access.py and docs/access-control.md). To add a
category: add it here, map the fields that belong to it below, add its permission in
`Pathway.Meta.permissions` (makemigrations), and decide which legal bases may cover it
(parcours/bases.py). The permission-matrix test enumerates categories from this module.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DataCategory(models.TextChoices):
    IDENTITY = "identity", _("Identité")
    CONTACT = "contact", _("Coordonnées")
    PATHWAY = "pathway", _("Parcours, orientations et rendez-vous")
    SOCIAL = "social", _("Diagnostic social et freins périphériques")
    HEALTH = "health", _("Santé et handicap")
    JUSTICE = "justice", _("Justice")


ALL_CATEGORIES: frozenset[str] = frozenset(DataCategory.values)
# GDPR art. 9/10 data: never covered by a default legal basis, only by consent (or break-glass).
SENSITIVE_CATEGORIES: frozenset[str] = frozenset({DataCategory.HEALTH, DataCategory.JUSTICE})
# What a referral always carries: the receiver cannot act without knowing whom and why.
REFERRAL_MINIMUM: frozenset[str] = frozenset({DataCategory.IDENTITY, DataCategory.PATHWAY})


def permission_codename(category: str) -> str:
    return f"view_pathway_{category}"


PATHWAY_PERMISSIONS: list[tuple[str, str]] = [
    (permission_codename(c.value), f"Voir la catégorie « {c.label} » du parcours")
    for c in DataCategory
]

IDN, CON, PTH, SOC, HLT, JUS = (
    DataCategory.IDENTITY,
    DataCategory.CONTACT,
    DataCategory.PATHWAY,
    DataCategory.SOCIAL,
    DataCategory.HEALTH,
    DataCategory.JUSTICE,
)

# Field → category, per API representation. A field not listed here is refused by the
# architecture test: nothing leaves the API without a category.
PERSON_FIELDS: dict[str, str] = {
    "id": IDN,
    "first_name": IDN,
    "last_name": IDN,
    "birth_date": IDN,
    "under_26": IDN,
    "over_55": IDN,
    "france_travail_id": IDN,
    "nir": IDN,
    "email": CON,
    "phone": CON,
    "address": CON,
    "postal_code": CON,
    "city": CON,
    "receives_rsa": PTH,
    "receives_ass": PTH,
    "rights_ending": PTH,
    "rights_end_date": PTH,
    "lives_in_qpv": SOC,
    "rqth": HLT,
    "court_supervision": JUS,
    "open_pathway": PTH,
    "created_at": PTH,
    "updated_at": PTH,
}

PATHWAY_FIELDS: dict[str, str] = {
    "id": PTH,
    "person": IDN,
    "status": PTH,
    "owner_organisation": PTH,
    "referent": PTH,
    "referent_organisation": PTH,
    "modality": PTH,
    "outcome": PTH,
    "opened_at": PTH,
    "closed_at": PTH,
    # Retention (docs/retention.md): an archived pathway is read-only.
    "last_contact_at": PTH,
    "archived_at": PTH,
    "updated_at": PTH,
    "modality_periods": PTH,
    "diagnostic_summary": SOC,
    "barriers": SOC,  # health-related barriers are filtered to the health category, see below
    "categories": PTH,
}

REFERRAL_FIELDS: dict[str, str] = {
    "context_note": SOC,
    "person": IDN,
}  # every other referral field is in the pathway category

# A message between a referral's parties is pathway data, like the referral it is about: read by
# the case workers of its two parties within the referral's basis (rules.REFERRAL_MESSAGE_READ).
REFERRAL_MESSAGE_FIELDS: dict[str, str] = dict.fromkeys(
    ("id", "referral", "author", "author_organisation", "text", "created_at"), PTH
)

# The action plan (objectives and their actions) is pathway data, field by field.
PLAN_ACTION_FIELDS: dict[str, str] = dict.fromkeys(
    (
        "id",
        "objective",
        "pathway",
        "label",
        "owner_organisation",
        "due_on",
        "status",
        "done_at",
        "created_at",
        "overdue",
    ),
    PTH,
)
OBJECTIVE_FIELDS: dict[str, str] = dict.fromkeys(
    (
        "id",
        "pathway",
        "title",
        "status",
        "created_at",
        "created_by_organisation",
        "closed_at",
        "updated_at",
        "actions",
    ),
    PTH,
)

# Barrier kinds that are health data (GDPR art. 9).
HEALTH_BARRIERS: frozenset[str] = frozenset({"health", "addiction"})


def barrier_category(kind: str) -> str:
    """The category a barrier of this kind belongs to: health for the health-related ones, the
    barriers' own (social) for the others — read by the service that records it, the API's and
    the pages' redaction, the form that offers the kinds and the subject-access pack."""
    return DataCategory.HEALTH if kind in HEALTH_BARRIERS else PATHWAY_FIELDS["barriers"]


# Timeline event kinds outside the pathway category.
EVENT_KIND_CATEGORY: dict[str, str] = {"diagnostic": SOC, "barrier_recorded": SOC}

# The shared diagnostic (GET and POST /api/v1/pathways/<id>/diagnostic/). The envelope is the
# pathway's; a domain and every field of its versions are of the domain's own category
# (`diagnostic_domains.domain_category`): only the domains of the categories the actor sees
# are listed (`access.diagnostic_visible_to`), so nothing is redacted field by field.
BY_DOMAIN = "by_domain"
DIAGNOSTIC_FIELDS: dict[str, str] = {
    "id": PTH,
    "categories": PTH,
    "domains": BY_DOMAIN,
}
DIAGNOSTIC_DOMAIN_FIELDS: dict[str, str] = {
    "domain": BY_DOMAIN,
    "category": BY_DOMAIN,
    "current": BY_DOMAIN,
    "previous_versions": BY_DOMAIN,
}
DIAGNOSTIC_VERSION_FIELDS: dict[str, str] = {
    "id": BY_DOMAIN,
    "level": BY_DOMAIN,
    "text": BY_DOMAIN,
    "author": BY_DOMAIN,
    "author_organisation": BY_DOMAIN,
    "created_at": BY_DOMAIN,
}
