"""Pages journal their reads like the API does (docs/journal.md): one row per record page, one
row per list with the ids shown. Same journal service, same subjects, same bases."""

from collections.abc import Iterable

from django.http import HttpRequest

from parcours import access
from parcours.actor import Actor
from parcours.api.journaling import subject_of
from parcours.models import AccessOperation
from parcours.services.journal import journal_record


def journal_page_read(
    request: HttpRequest, actor: Actor, object_type: str, object_id: int, categories: Iterable[str]
) -> None:
    pathway_ids, person_id = subject_of(object_type, object_id)
    categories = sorted(categories)
    basis = " ".join(
        sorted(
            {
                code
                for pid in pathway_ids
                for code in access.basis_for(actor, pid, categories).split()
            }
        )
    )
    journal_record(
        actor=actor,
        operation=AccessOperation.READ,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        categories=categories,
        basis=basis,
        request=request,
        detail={"page": request.resolver_match.view_name if request.resolver_match else ""},
    )


def journal_page_list(
    request: HttpRequest, actor: Actor, object_type: str, ids: list[int], categories: Iterable[str]
) -> None:
    if not ids:
        return
    journal_record(
        actor=actor,
        operation=AccessOperation.LIST,
        object_type=object_type,
        object_ids=ids,
        categories=sorted(set(categories)),
        request=request,
        detail={"page": request.resolver_match.view_name if request.resolver_match else ""},
    )
