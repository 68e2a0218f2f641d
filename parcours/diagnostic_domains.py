"""The domains of the shared diagnostic (diagnostic socio-professionnel partagé), as data.

One row per domain: its code (stored, and the API's), its French label, the data category it
belongs to (parcours/categories.py) and the slug of its page. Reading or writing a domain needs
its category on the pathway: the partners that hold a category co-write its domains — a domain's
category is decided here and nowhere else (the service, the selector, the pages' buttons, the
API and the subject-access pack read `domain_category`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .categories import DataCategory


class DiagnosticDomain(models.TextChoices):
    PROFESSIONAL_PROJECT = "professional_project", _("Projet professionnel")
    TRAINING = "training", _("Formation et compétences")
    MOBILITY = "mobility", _("Mobilité")
    HOUSING = "housing", _("Logement")
    HEALTH = "health", _("Santé")
    BUDGET = "budget", _("Budget")
    FAMILY = "family", _("Famille et garde d'enfants")
    ACCESS_TO_RIGHTS = "access_to_rights", _("Accès aux droits")
    DIGITAL = "digital", _("Numérique")
    JUSTICE = "justice", _("Justice")


class DiagnosticLevel(models.TextChoices):
    """Where the person stands in a domain (optional): a strength to lean on, something to work
    on, or a barrier that blocks the return to work for now."""

    STRENGTH = "strength", _("Point d'appui")
    TO_WORK_ON = "to_work_on", _("À travailler")
    BLOCKING = "blocking", _("Frein bloquant")


D = DiagnosticDomain
# Domain → (category, page slug), in the order the pages list them.
DOMAINS: dict[str, tuple[str, str]] = {
    D.PROFESSIONAL_PROJECT: (DataCategory.PATHWAY, "projet-professionnel"),
    D.TRAINING: (DataCategory.PATHWAY, "formation"),
    D.MOBILITY: (DataCategory.SOCIAL, "mobilite"),
    D.HOUSING: (DataCategory.SOCIAL, "logement"),
    D.HEALTH: (DataCategory.HEALTH, "sante"),  # GDPR art. 9: consent or break-glass only
    D.BUDGET: (DataCategory.SOCIAL, "budget"),
    D.FAMILY: (DataCategory.SOCIAL, "famille"),
    D.ACCESS_TO_RIGHTS: (DataCategory.SOCIAL, "droits"),
    D.DIGITAL: (DataCategory.SOCIAL, "numerique"),
    D.JUSTICE: (DataCategory.JUSTICE, "justice"),  # GDPR art. 10
}
DOMAIN_OF_SLUG: dict[str, str] = {slug: domain for domain, (_c, slug) in DOMAINS.items()}
# The categories a diagnostic may hold (what a read of the diagnostic shows, at most).
DIAGNOSTIC_CATEGORIES: frozenset[str] = frozenset(c for c, _s in DOMAINS.values())
# A domain's situation, as long as the API's and the pages' forms accept.
TEXT_MAX_LENGTH = 2000


def domain_category(domain: str) -> str:
    return DOMAINS[domain][0]


def domain_slug(domain: str) -> str:
    return DOMAINS[domain][1]


def domains_in(categories) -> list[str]:
    """The domains whose category is among `categories`, in the table's order."""
    return [domain for domain, (category, _s) in DOMAINS.items() if category in categories]
