"""How a DPO finds whom to report on, without browsing records: a person by exact identity or
NIR (blind indexes, as the case workers' search), a user among those they report on."""

import datetime as dt

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet

from .. import access
from ..actor import Actor
from ..fields import blind_index, normalise_identifier
from ..models import Membership, Person
from ..models.person import search_keys


def reportable_persons_matching(
    actor: Actor,
    *,
    first_name: str = "",
    last_name: str = "",
    birth_date: dt.date | None = None,
    nir: str = "",
) -> QuerySet[Person]:
    people = access.persons_reportable_by(actor)
    if nir:
        return people.filter(nir_index=blind_index("nir", normalise_identifier(nir)))
    if first_name and last_name and birth_date:
        identity_index = search_keys(first_name, last_name, birth_date, "", "")[3]
        return people.filter(identity_index=identity_index)
    return people.none()


def reportable_users(actor: Actor) -> QuerySet[User]:
    return (
        access.users_reportable_by(actor)
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("organisation"))
        )
        .order_by("last_name", "first_name", "username")
    )
