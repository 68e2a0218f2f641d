"""The shared diagnostic's write page: one domain of a pathway, its current version and the form
of a new one — through the same service and gate as the API (`PathwayViewSet.diagnostic`).
The diagnostic itself is shown on the person page (web/views/persons.py)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from parcours import access, gate
from parcours.diagnostic_domains import DOMAIN_OF_SLUG, DiagnosticDomain, domain_category
from parcours.errors import NotAllowed
from parcours.gate import Action
from parcours.gate.journal import record_read_of
from parcours.services import diagnostic as diagnostic_services

from ..actor import member_required
from ..diagnostic_forms import DiagnosticForm
from ..forms import INPUT_ERRORS, apply_domain_error
from ..identity import name_shown


@member_required
def diagnostic_write(request, pathway_pk: int, domain: str):
    code = DOMAIN_OF_SLUG.get(domain)
    if code is None:
        raise Http404
    actor = request.actor
    category = domain_category(code)
    # Without the domain's category: not found; a partner the table refuses: the 403 page.
    pathway = gate.pathway_for(
        actor, pathway_pk, Action.DIAGNOSTIC_WRITE, category=category, lock=False
    )
    grants = access.grants_for(actor, [pathway.pk])
    posted = request.method == "POST"
    current = None
    if not posted:  # the current version, shown and offered to amend (a read, journaled below)
        current = (
            access.diagnostic_visible_to(actor, pathway.pk, grants[pathway.pk].categories)
            .filter(domain=code)
            .select_related("author", "author_organisation")
            .order_by("-created_at", "-id")
            .first()
        )
    initial = {"text": current.text, "level": current.level} if current else None
    form = DiagnosticForm(request.POST if posted else None, initial=initial)
    if posted and form.is_valid():
        try:
            diagnostic_services.diagnostic_write(
                actor=actor,
                pathway_id=pathway.pk,
                domain=code,
                text=form.cleaned_data["text"],
                level=form.cleaned_data["level"],
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            label = DiagnosticDomain(code).label
            messages.success(
                request,
                f"Le diagnostic « {label} » est enregistré (les versions précédentes restent "
                "consultables).",
            )
            return redirect("web:person-detail", pk=pathway.person_id)
    # A form shown again after a mistake shows nothing of the record (nothing read, nothing
    # journaled), as the pathway's write pages.
    shows_identity = name_shown(actor, pathway, grants=grants, journal=not posted)
    if not posted:
        record_read_of(
            actor,
            Action.DIAGNOSTIC_READ,
            object_type="pathway",
            object_id=pathway.pk,
            person_id=pathway.person_id,
            pathway_ids=[pathway.pk],
            shown={category},
            grants=grants,
        )
    return render(
        request,
        "web/diagnostic/write.html",
        {
            "title": f"Diagnostic partagé : {DiagnosticDomain(code).label}",
            "form": form,
            "pathway": pathway,
            "current": current,
            "shows_identity": shows_identity,
        },
        status=400 if form.errors else 200,
    )
