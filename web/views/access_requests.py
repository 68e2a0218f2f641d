"""Access requests in the pages: an organisation that finds the person already followed elsewhere
asks the holder to let it in (it then joins the care team); the holder answers. The same
services and gate as the API (/api/v1/access-requests/)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from parcours import access, gate
from parcours.categories import DataCategory
from parcours.errors import NotAllowed
from parcours.gate import Action
from parcours.gate.journal import record_list_of
from parcours.gate.relations import relations_to_access_request
from parcours.models import AccessRequestStatus, Pathway
from parcours.services import access_request as access_request_services

from ..access_request_forms import AccessDecisionForm, AccessRequestForm
from ..actor import member_required
from ..forms import INPUT_ERRORS, apply_domain_error

DECISIONS = {
    "accepter": (
        access_request_services.access_request_accept,
        "La demande est acceptée : l'organisation rejoint l'équipe de suivi.",
    ),
    "refuser": (access_request_services.access_request_refuse, "La demande est refusée."),
}
NO_RECORD = "Aucun dossier ouvert ne correspond à cet identifiant."


@member_required
def request_list(request):
    """Requests made by the organisation and made to it; the holder answers the pending ones."""
    return _list_page(request)


def _list_page(request, *, answering: dict | None = None, status: int = 200):
    """The list; an answer that failed is shown again under its request, with the comment typed
    and the French reason (`answering`: pk, comment, errors)."""
    actor = request.actor
    related = ("pathway__person", "requesting_organisation", "requested_by")
    received = list(
        access.access_requests_received_by(actor)
        .select_related(*related)
        .order_by("-created_at")[:100]
    )
    made = list(
        access.access_requests_made_by(actor).select_related(*related).order_by("-created_at")[:100]
    )
    # The holder sees who the request is about, when its organisation sees the identity.
    grants = access.grants_for(actor, [r.pathway_id for r in received])
    named = {
        r.pk
        for r in received
        if r.pathway_id in grants and DataCategory.IDENTITY in grants[r.pathway_id].categories
    }
    record_list_of(
        actor,
        Action.PATHWAY_LIST,
        object_type="pathway",
        items=[(r.pathway_id, [r.pathway_id]) for r in received if r.pk in named],
        shown={DataCategory.IDENTITY},
        grants=grants,
    )
    answerable = {
        r.pk
        for r in received
        if gate.may(actor, Action.ACCESS_REQUEST_DECIDE, relations_to_access_request(actor, r))
    }
    return render(
        request,
        "web/access_requests/list.html",
        {
            "received": received,
            "made": made,
            "named": named,
            "answerable": answerable,
            "pending": AccessRequestStatus.PENDING,
            "form": AccessRequestForm(),
            "may_ask": gate.may(actor, Action.ACCESS_REQUEST_CREATE, set()),
            "answering": answering or {},
        },
        status=status,
    )


@member_required
def request_create(request):
    """The form; a POST with `prefill` (the person-creation page's duplicate notice) shows it
    filled with the identifiers typed there, writing nothing."""
    actor = request.actor
    gate.require(actor, Action.ACCESS_REQUEST_CREATE)
    prefill = request.method == "POST" and "prefill" in request.POST
    form = AccessRequestForm(request.POST if request.method == "POST" else None)
    if prefill:
        form = AccessRequestForm(
            initial={k: request.POST.get(k, "") for k in ("nir", "france_travail_id")}
        )
    elif form.is_bound and form.is_valid():
        try:
            access_request_services.access_request_create(actor=actor, **form.cleaned_data)
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except Pathway.DoesNotExist:
            form.add_error(None, NO_RECORD)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(
                request, "Votre demande est envoyée à l'organisation qui suit la personne."
            )
            return redirect("web:access-requests")
    return render(
        request,
        "web/access_requests/form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@member_required
def request_decide(request, pk: int, decision: str):
    if decision not in DECISIONS:
        raise Http404
    if request.method != "POST":
        return redirect("web:access-requests")
    service, done = DECISIONS[decision]
    form = AccessDecisionForm(request.POST)
    if form.is_valid():
        try:  # the service finds the request within the actor's scope (404 otherwise)
            service(actor=request.actor, request_id=pk, comment=form.cleaned_data["comment"])
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, done)
            return redirect("web:access-requests")
    # The list again, the comment typed kept under its request with what is wrong (a request
    # out of the actor's scope is not found, as the service would say of a valid form).
    gate.locate(
        request.actor,
        access.access_requests_visible_to(request.actor),
        pk,
        action=Action.ACCESS_REQUEST_DECIDE,
    )
    answering = {
        "pk": pk,
        "comment": request.POST.get("comment", ""),
        "errors": [e for errors in form.errors.values() for e in errors],
    }
    return _list_page(request, answering=answering, status=400)
