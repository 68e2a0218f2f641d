"""What a partner system's token may reach: the API's resource families × read / write, as data.

A token (models/api_token.py) carries a list of scopes such as ``"referrals:read"``; every API
view names its family (`token_family`), and `parcours.api.actor.HasMembership` lets a token
through only when it holds ``<family>:read`` for a safe method (GET, HEAD, OPTIONS) or
``<family>:write`` for any other. A view naming no family is closed to tokens (fail closed), and
tests/api/test_token_scopes.py checks that every view of the API names one.

The scopes narrow what the token's account may do; they never widen it: the gate (rules.py)
still decides with the account's role in the token's organisation.
"""

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    DIRECTORY = "directory"
    PERSONS = "persons"
    PATHWAYS = "pathways"
    REFERRALS = "referrals"
    ACCESS = "access"
    AGREEMENTS = "agreements"
    DPO = "dpo"
    # The account itself (`/me/`): any token reads who it acts as.
    ACCOUNT = "account"


class Access(StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class FamilyInfo:
    label: str
    covers: str  # what the family holds, for the administrator choosing scopes


FAMILIES: dict[Family, FamilyInfo] = {
    Family.DIRECTORY: FamilyInfo(
        "Annuaire", "organisations, services et bassins d'emploi (lecture seule en pratique)"
    ),
    Family.PERSONS: FamilyInfo("Personnes", "identité des personnes accompagnées"),
    Family.PATHWAYS: FamilyInfo(
        "Parcours", "parcours, freins, notes, plan d'action et diagnostic partagé"
    ),
    Family.REFERRALS: FamilyInfo("Orientations", "orientations, rendez-vous, réponses et messages"),
    Family.ACCESS: FamilyInfo(
        "Accords et accès",
        "accords de la personne, oppositions, équipe de suivi, accès exceptionnels et demandes "
        "d'accès",
    ),
    Family.AGREEMENTS: FamilyInfo("Conventions", "conventions de partenariat"),
    Family.DPO: FamilyInfo(
        "Protection des données", "rapports du délégué à la protection des données"
    ),
}

ACCESS_LABELS = {Access.READ: "lecture", Access.WRITE: "écriture"}

# Every scope an administrator may give, in the order the pages show them.
SCOPES: tuple[str, ...] = tuple(f"{family}:{access}" for family in FAMILIES for access in Access)
# Given to every token: the account's own description (who it is, for which organisation).
ALWAYS_GRANTED = frozenset({f"{Family.ACCOUNT}:{Access.READ}"})


def scope(family: str, access: Access) -> str:
    return f"{family}:{access}"


def access_for_method(method: str) -> Access:
    return Access.READ if method.upper() in ("GET", "HEAD", "OPTIONS") else Access.WRITE


def scope_label(value: str) -> str:
    """« Orientations — écriture » for ``referrals:write`` (never the raw code in a page)."""
    family, _, access = value.partition(":")
    labels = {str(f): info.label for f, info in FAMILIES.items()} | {Family.ACCOUNT: "Compte"}
    accesses = {str(a): label for a, label in ACCESS_LABELS.items()}
    return f"{labels.get(family, family)} — {accesses.get(access, access)}"


def allows(scopes: frozenset[str] | set[str] | list[str], family: str | None, method: str) -> bool:
    """Whether a token holding `scopes` may call a view of `family` with `method`."""
    if family is None:
        return False
    wanted = scope(family, access_for_method(method))
    return wanted in ALWAYS_GRANTED or wanted in scopes
