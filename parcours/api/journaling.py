"""One journal row per API access to people's records: reads (detail, and list results as the ids
returned), writes, and denied attempts on records that exist. Called from the viewsets'
`finalize_response`, so no endpoint can forget it."""

from collections.abc import Callable, Iterable

from rest_framework.permissions import SAFE_METHODS

from .. import access
from ..models import (
    AccessOperation,
    Appointment,
    CareTeamMember,
    Consent,
    Objection,
    Pathway,
    Person,
    Referral,
)
from ..services.journal import journal_record

# object type → how to find (pathway id, person id) from a record id
SUBJECTS = {
    "person": lambda pk: Pathway.objects.filter(person_id=pk).values_list("pk", "person_id"),
    "pathway": lambda pk: Pathway.objects.filter(pk=pk).values_list("pk", "person_id"),
    "referral": lambda pk: Referral.objects.filter(pk=pk).values_list(
        "pathway_id", "pathway__person_id"
    ),
    "appointment": lambda pk: Appointment.objects.filter(pk=pk).values_list(
        "referral__pathway_id", "referral__pathway__person_id"
    ),
    "consent": lambda pk: Pathway.objects.filter(person__consents=pk).values_list(
        "pk", "person_id"
    ),
    "objection": lambda pk: Pathway.objects.filter(person__objections=pk).values_list(
        "pk", "person_id"
    ),
    "care_team_member": lambda pk: Pathway.objects.filter(care_team=pk).values_list(
        "pk", "person_id"
    ),
}
MODELS = {
    "person": Person,
    "pathway": Pathway,
    "referral": Referral,
    "appointment": Appointment,
    "consent": Consent,
    "objection": Objection,
    "care_team_member": CareTeamMember,
}


def subject_of(object_type: str, pk: int) -> tuple[list[int], int | None]:
    """(pathway ids, person id) a record of `object_type` is about."""
    rows = list(SUBJECTS[object_type](pk))
    return [r[0] for r in rows], (rows[0][1] if rows else None)


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def journal_response(view, request, response) -> None:
    actor = getattr(request, "_parcours_actor", None)
    object_type = view.journal_object_type
    if actor is None or object_type is None:
        return
    status = response.status_code
    pk = _as_int(view.kwargs.get("pk"))
    data = response.data if isinstance(response.data, dict) else {}
    if status in (403, 404):
        if pk is not None and MODELS[object_type]._default_manager.filter(pk=pk).exists():
            _pathway_ids, person_id = subject_of(object_type, pk)
            journal_record(
                actor=actor,
                operation=AccessOperation.DENIED,
                object_type=object_type,
                object_id=pk,
                person_id=person_id,
                request=request,
                detail={"status": status, "method": request.method, "action": view.action},
            )
        return
    if not 200 <= status < 300:
        return
    if request.method in SAFE_METHODS and pk is None:
        rows = data.get("results", [])
        ids = getattr(view, "journal_page_ids", None)
        if ids is None:
            ids = [row["id"] for row in rows if isinstance(row, dict) and "id" in row]
        if ids:
            categories = sorted({c for row in rows for c in row.get("categories", [])})
            journal_record(
                actor=actor,
                operation=AccessOperation.LIST,
                object_type=object_type,
                object_ids=ids,
                categories=categories,
                request=request,
                detail={"action": view.action},
            )
        return
    record_id = pk if pk is not None else _as_int(data.get("id"))
    if record_id is None:
        return
    journal_record_access(
        actor=actor,
        operation=AccessOperation.READ if request.method in SAFE_METHODS else AccessOperation.WRITE,
        object_type=object_type,
        object_id=record_id,
        # The categories the response was built with (cached by the view): not queried twice.
        categories_of=view.visible_categories.of,
        request=request,
        detail={"action": view.action},
    )


def journal_record_access(
    *,
    actor,
    operation: str,
    object_type: str,
    object_id: int,
    categories_of: Callable[[list[int]], Iterable[str]],
    request,
    detail: dict,
) -> None:
    """One journal row for an access to one record, from the API or a page: the person it is
    about, the categories shown (`categories_of(pathway ids)`) and the bases behind them."""
    pathway_ids, person_id = subject_of(object_type, object_id)
    categories = sorted(categories_of(pathway_ids))
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
        operation=operation,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        categories=categories,
        basis=basis,
        request=request,
        detail=detail,
    )


def journal_break_glass_opened(*, actor, grant, request) -> None:
    """The opening of an exceptional access, from the API or a page: one `break_glass` row."""
    journal_record(
        actor=actor,
        operation="break_glass",
        object_type="pathway",
        object_id=grant.pathway_id,
        person_id=grant.pathway.person_id,
        categories=[grant.category],
        purpose=grant.reason,
        basis=f"break_glass:{grant.pk}",
        request=request,
        detail={"until": grant.ends_at.isoformat()},
    )
