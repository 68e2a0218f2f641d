"""Pages journal their reads like the API does (docs/journal.md): one row per record page, one
row per list with the ids shown — through the API's own journaling functions."""

from collections.abc import Iterable

from django.http import HttpRequest

from parcours.actor import Actor
from parcours.api.journaling import journal_record_access
from parcours.models import AccessOperation
from parcours.services.journal import journal_record


def _page(request: HttpRequest) -> dict:
    return {"page": request.resolver_match.view_name if request.resolver_match else ""}


def journal_page_read(
    request: HttpRequest, actor: Actor, object_type: str, object_id: int, categories: Iterable[str]
) -> None:
    shown = frozenset(categories)
    journal_record_access(
        actor=actor,
        operation=AccessOperation.READ,
        object_type=object_type,
        object_id=object_id,
        categories_of=lambda _pathway_ids: shown,  # what the page was rendered with
        request=request,
        detail=_page(request),
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
        detail=_page(request),
    )
