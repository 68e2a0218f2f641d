"""How a DPO finds whom to report on, without browsing records: a person by exact identity or
NIR (blind indexes, as the case workers' search), a user among those they report on. Callers
pass the scope from `parcours.access` (persons_reportable_by, users_reportable_by)."""

import datetime as dt

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet

from ..fields import blind_index, normalise_identifier
from ..models import Membership, Person
from ..models.person import search_keys

LOOKUP_INCOMPLETE = "Indiquez le nom, le prénom et la date de naissance, ou le NIR."
LOOKUP_LIMIT = 20  # exact identity or NIR: more than a handful means a homonym to tell apart


def lookup_is_complete(
    *, first_name: str = "", last_name: str = "", birth_date: dt.date | None = None, nir: str = ""
) -> bool:
    """A lookup names the exact identity (names and birth date) or the NIR."""
    return bool(nir) or bool(first_name and last_name and birth_date)


def persons_matching(
    people: QuerySet[Person],
    *,
    first_name: str = "",
    last_name: str = "",
    birth_date: dt.date | None = None,
    nir: str = "",
) -> list[Person]:
    """Within `people`: the exact NIR, else the exact identity — at most LOOKUP_LIMIT, ids only
    (a DPO is never shown record content)."""
    if nir:
        matching = people.filter(nir_index=blind_index("nir", normalise_identifier(nir)))
    elif first_name and last_name and birth_date:
        identity_index = search_keys(first_name, last_name, birth_date, "", "")[3]
        matching = people.filter(identity_index=identity_index)
    else:
        return []
    return list(matching.order_by("pk").only("pk")[:LOOKUP_LIMIT])


def with_memberships(users: QuerySet[User]) -> QuerySet[User]:
    """`users` with their memberships and organisations (one query more for a whole page)."""
    return users.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("organisation"))
    ).order_by("last_name", "first_name", "username")
