"""What list pages load of the pathways and people they name.

A list row names a person (first and last name, in clear) and links to their pathway; it never
shows their encrypted fields (contact details, NIR, France Travail id, RQTH…, the pathway's
diagnostic summary). Loaded with the row, each of those is a Fernet decryption: 25 rows × 11
fields = 275 per page of « Personnes suivies », a sixth of its Python calls (issue 17). Lists
defer them: nothing decrypts what is not shown.
"""

from django.db.models import Model, QuerySet

from parcours.models import Pathway, Person


def sealed_fields(model: type[Model]) -> list[str]:
    """The model's encrypted fields (parcours.fields.EncryptedMixin)."""
    return [f.name for f in model._meta.concrete_fields if getattr(f, "encrypted", False)]


def naming_persons(queryset: QuerySet, pathway: str) -> QuerySet:
    """`queryset` with the pathway at `pathway` ("" for the queryset's own rows, else e.g.
    "pathway") and its person joined, the encrypted fields of both left unread."""
    prefix = f"{pathway}__" if pathway else ""
    deferred = [prefix + name for name in sealed_fields(Pathway)]
    deferred += [f"{prefix}person__{name}" for name in sealed_fields(Person)]
    return queryset.select_related(f"{prefix}person").defer(*deferred)
