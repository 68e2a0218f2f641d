"""Writes on Organisation: each one gets its own Django Group, which carries the object
permissions its members act under (see docs/access-control.md)."""

from django.contrib.auth.models import Group
from django.db import transaction

from ..models import Organisation


@transaction.atomic
def organisation_create(**fields: object) -> Organisation:
    organisation = Organisation(**fields)
    organisation.full_clean(exclude=["group"])
    organisation.group = Group.objects.create(name=f"organisation:{organisation.siret}")
    organisation.save()
    return organisation
