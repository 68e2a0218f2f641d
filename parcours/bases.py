"""Legal bases other than consent: which kinds of organisation may see which categories of a
pathway they have a working relationship with, and on what condition.

This is data, read by `parcours.services.access_grants`. Deployments override it with the
`PARCOURS_LEGAL_BASES` setting (same shape). Health and justice are never covered here: the
grant computation drops them even if a configuration lists them.
"""

from dataclasses import dataclass

from django.conf import settings

from .categories import SENSITIVE_CATEGORIES, DataCategory

IDN, CON, PTH, SOC = (
    DataCategory.IDENTITY,
    DataCategory.CONTACT,
    DataCategory.PATHWAY,
    DataCategory.SOCIAL,
)


@dataclass(frozen=True)
class LegalBasis:
    code: str  # journaled with every read it justifies, e.g. "legal:rsa"
    label: str
    organisation_kind: str
    categories: frozenset[str]
    # Person condition: "" (everyone), "receives_rsa", "under_26", "rqth".
    condition: str = ""


DEFAULT_LEGAL_BASES: tuple[LegalBasis, ...] = (
    # Public employment service mission (code du travail L5312-1; réseau pour l'emploi, 2023).
    LegalBasis(
        "spe", "Mission de service public de l'emploi", "france_travail", frozenset({IDN, CON, PTH})
    ),
    LegalBasis(
        "spe", "Mission de service public de l'emploi", "cap_emploi", frozenset({IDN, CON, PTH})
    ),
    LegalBasis(
        "spe",
        "Mission de service public de l'emploi",
        "mission_locale",
        frozenset({IDN, CON, PTH}),
        condition="under_26",
    ),
    # rSa: orientation and accompaniment obligations (CASF L262-27 and following).
    LegalBasis(
        "rsa",
        "Orientation et accompagnement rSa",
        "departement",
        frozenset({IDN, CON, PTH, SOC}),
        condition="receives_rsa",
    ),
    LegalBasis(
        "rsa",
        "Orientation et accompagnement rSa",
        "france_travail",
        frozenset({IDN, CON, PTH}),
        condition="receives_rsa",
    ),
)


def legal_bases() -> tuple[LegalBasis, ...]:
    configured = getattr(settings, "PARCOURS_LEGAL_BASES", None)
    return tuple(configured) if configured is not None else DEFAULT_LEGAL_BASES


def person_meets(condition: str, person) -> bool:
    if not condition:
        return True
    if condition == "under_26":
        return person.under_26
    return bool(getattr(person, condition, False))


def legal_categories(*, organisation_kind: str, person) -> dict[str, set[str]]:
    """Category → basis codes that a legal basis gives this kind of organisation for `person`."""
    covered: dict[str, set[str]] = {}
    for basis in legal_bases():
        if basis.organisation_kind == organisation_kind and person_meets(basis.condition, person):
            for category in basis.categories - SENSITIVE_CATEGORIES:
                covered.setdefault(category, set()).add(f"legal:{basis.code}")
    return covered
