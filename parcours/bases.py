"""Legal bases other than consent: which kinds of organisation may see which categories of a
pathway they have a working relationship with, and on what condition.

This is data, read by `parcours.services.access_grants`. Deployments override it with the
`PARCOURS_LEGAL_BASES` setting (same shape). Health and justice are never covered here: the
grant computation drops them even if a configuration lists them.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from .categories import SENSITIVE_CATEGORIES, DataCategory
from .models.person import age_on

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


# Conditions the clock alone ends: the age on which the person stops meeting them. The others
# (rSa, RQTH) change with the person's record, whose change recomputes access.
AGE_LIMITS: dict[str, int] = {"under_26": 26}


def condition_fields() -> frozenset[str]:
    """The person's fields the legal bases' conditions read (the birth date for an age): a
    rectification of one of them recomputes the person's access (services.person)."""
    return frozenset(
        "birth_date" if basis.condition in AGE_LIMITS else basis.condition
        for basis in legal_bases()
        if basis.condition
    )


def person_meets(condition: str, person, on: dt.date) -> bool:
    """Whether the person meets `condition` on the day `on`."""
    if not condition:
        return True
    if condition in AGE_LIMITS:
        return age_on(person.birth_date, on) < AGE_LIMITS[condition]
    return bool(getattr(person, condition, False))


def birthday(birth_date: dt.date, age: int) -> dt.date:
    """The first day on which someone born on `birth_date` is `age` (1 March for a 29 February
    birth in a common year, as `age_on` counts)."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:
        return dt.date(birth_date.year + age, 3, 1)


def condition_ends_on(condition: str, person) -> dt.date | None:
    """The first day the person no longer meets `condition` by the clock alone (the 26th
    birthday for "under_26"); None for a condition that does not end by itself."""
    if condition in AGE_LIMITS:
        return birthday(person.birth_date, AGE_LIMITS[condition])
    return None


def legal_covers(
    *, organisation_kind: str, person, on: dt.date
) -> dict[str, dict[str, dt.date | None]]:
    """Category → basis code → the first day it no longer covers the person (None: no end of
    its own), for the legal bases this kind of organisation has for `person` on the day `on`.
    A basis with an age condition ends on the birthday (a Mission locale's `legal:spe` on the
    26th): it is a grant row with that end, closed on time without any recompute."""
    covered: dict[str, dict[str, dt.date | None]] = {}
    for basis in legal_bases():
        if basis.organisation_kind != organisation_kind or not person_meets(
            basis.condition, person, on
        ):
            continue
        ends = condition_ends_on(basis.condition, person)
        for category in basis.categories - SENSITIVE_CATEGORIES:
            codes = covered.setdefault(category, {})
            code = f"legal:{basis.code}"
            # Two bases with one code (the same mission): the later end covers.
            codes[code] = ends if code not in codes else _later(codes[code], ends)
    return covered


def _later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return None if a is None or b is None else max(a, b)
