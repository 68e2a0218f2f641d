"""The DPO's pages: who saw a person's data, what a user did, anomalies, the journal's
integrity, the processing register, rights requests. Thin: forms, then parcours' DPO services
(which journal every report); never any record content."""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from parcours import access
from parcours.exports import downloads
from parcours.models import RightsRequestStatus
from parcours.selectors.anomalies import THRESHOLD_NAMES, AnomalyThresholds
from parcours.selectors.dpo_lookup import persons_matching, with_memberships
from parcours.services import dpo_reports
from parcours.services import rights_request as rights_services

from ..actor import member_required
from ..dpo_forms import (
    AnomalyForm,
    DecisionForm,
    ExtensionForm,
    PeriodForm,
    PersonLookupForm,
    PersonReportForm,
    RightsRequestForm,
)
from ..forms import INPUT_ERRORS, apply_domain_error
from ..second_factor import STEP_SESSION_KEY

FORBIDDEN = "Ces pages sont réservées au délégué à la protection des données (DPO)."


def dpo_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A member acting as DPO (else a French 403 page); people and users out of the DPO's
    reach answer 404 (member_required turns DoesNotExist into 404)."""

    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not access.can_read_dpo_reports(request.actor):  # type: ignore[attr-defined]
            return render(request, "web/forbidden.html", {"message": FORBIDDEN}, status=403)
        if not request.user.is_verified():  # type: ignore[union-attr]
            # The middleware asks once per session; a DPO role given since is asked here.
            request.session.pop(STEP_SESSION_KEY, None)
            return redirect(
                f"{reverse('web:second-factor')}?{urlencode({'next': request.get_full_path()})}"
            )
        return view(request, *args, **kwargs)

    return wrapper


def _export_format(request: HttpRequest) -> str | None:
    """`?export=csv|pdf` (anything else shows the page)."""
    export = request.GET.get("export")
    return export if export in downloads.FORMATS else None


@dpo_required
def dpo_home(request):
    actor = request.actor
    form = PersonLookupForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        found = persons_matching(access.persons_reportable_by(actor), **form.cleaned_data)
        if len(found) == 1:
            return redirect("web:dpo-person-report", pk=found[0].pk)
    requests = access.rights_requests_visible_to(actor).filter(status=RightsRequestStatus.RECEIVED)
    return render(
        request,
        "web/dpo/home.html",
        {
            "form": form,
            "found": found,
            "open_requests": requests.count(),
            "scope": "toutes les organisations"
            if access.reports_cover_every_organisation(actor)
            else actor.organisation.name,
        },
    )


@dpo_required
def dpo_person_report(request, pk: int):
    form = PersonReportForm(request.GET)
    report = None
    if form.is_valid():
        start, end = form.bounds()
        version = form.cleaned_data["version"]
        organisation = form.cleaned_data.get("organisation")
        report = dpo_reports.dpo_person_report(
            actor=request.actor,
            person_id=pk,
            start=start,
            end=end,
            version=version,
            organisation_id=organisation.pk if organisation else None,
            operation=form.cleaned_data.get("operation") or None,
        )
        if export := _export_format(request):
            return downloads.person_report_file(report, export).as_response()
    else:
        access.persons_reportable_by(request.actor).get(pk=pk)  # 404 before any error message
    return render(
        request,
        "web/dpo/person_report.html",
        {"form": form, "report": report, "person_id": pk, "query": request.GET.urlencode()},
    )


@require_POST
@dpo_required
def dpo_subject_access_pack(request, pk: int):
    """POST: generating the pack is an export of the person's whole record (journaled)."""
    pack = dpo_reports.dpo_subject_access_pack(actor=request.actor, person_id=pk)
    return downloads.pack_file(pack.content, pack.filename).as_response()


@dpo_required
def dpo_users(request):
    users = with_memberships(access.users_reportable_by(request.actor))
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "web/dpo/users.html", {"page": page})


@dpo_required
def dpo_user_report(request, pk: int):
    form = PeriodForm(request.GET)
    report = None
    if form.is_valid():
        start, end = form.bounds()
        report = dpo_reports.dpo_user_report(actor=request.actor, user_id=pk, start=start, end=end)
        if export := _export_format(request):
            return downloads.user_report_file(report, export).as_response()
    else:
        access.users_reportable_by(request.actor).get(pk=pk)
    return render(
        request,
        "web/dpo/user_report.html",
        {"form": form, "report": report, "user_id": pk, "query": request.GET.urlencode()},
    )


@dpo_required
def dpo_anomalies(request):
    form = AnomalyForm(request.GET)
    findings = None
    thresholds = AnomalyThresholds.from_settings()
    if form.is_valid():
        start, end = form.bounds()
        thresholds = AnomalyThresholds.from_settings(
            **{name: form.cleaned_data.get(name) for name in THRESHOLD_NAMES}
        )
        findings = dpo_reports.dpo_anomalies_report(
            actor=request.actor, start=start, end=end, thresholds=thresholds
        )
        if export := _export_format(request):
            return downloads.anomalies_file(
                findings, export, start=start, end=end, thresholds=thresholds
            ).as_response()
    return render(
        request,
        "web/dpo/anomalies.html",
        {
            "form": form,
            "findings": findings,
            "thresholds": thresholds,
            "query": request.GET.urlencode(),
        },
    )


@dpo_required
def dpo_integrity(request):
    form = PeriodForm(request.GET)
    status = None
    if form.is_valid():
        start, end = form.bounds()
        status = dpo_reports.dpo_integrity_report(actor=request.actor, start=start, end=end)
    return render(request, "web/dpo/integrity.html", {"form": form, "status": status})


@require_POST
@dpo_required
def dpo_integrity_verify(request):
    dpo_reports.dpo_journal_verification_request(actor=request.actor, request=request)
    messages.success(
        request,
        "Vérification lancée : rechargez cette page dans quelques minutes pour voir son résultat.",
    )
    return redirect("web:dpo-integrity")


@dpo_required
def dpo_register(request):
    register = dpo_reports.dpo_processing_register(actor=request.actor)
    if _export_format(request) == "pdf":
        return downloads.register_file(register).as_response()
    return render(request, "web/dpo/register.html", {"register": register})


@dpo_required
def dpo_rights_requests(request):
    requests = access.rights_requests_visible_to(request.actor).select_related("organisation")
    show = request.GET.get("etat", "a-traiter")
    if show == "a-traiter":
        requests = requests.filter(status=RightsRequestStatus.RECEIVED)
    page = Paginator(requests.order_by("due_on", "id"), 25).get_page(request.GET.get("page"))
    return render(request, "web/dpo/rights_requests.html", {"page": page, "show": show})


@dpo_required
def dpo_rights_request_create(request, pk: int):
    person = access.persons_reportable_by(request.actor).get(pk=pk)
    form = RightsRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = rights_services.rights_request_record(
                actor=request.actor, person_id=person.pk, **form.cleaned_data
            )
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(
                request,
                f"Demande enregistrée : réponse due le {created.due_on:%d/%m/%Y}.",
            )
            return redirect("web:dpo-rights-request", pk=created.pk)
    return render(request, "web/dpo/rights_request_form.html", {"form": form, "person_id": pk})


@dpo_required
def dpo_rights_request(request, pk: int):
    rights_request = (
        access.rights_requests_visible_to(request.actor)
        .select_related("organisation", "decided_by", "recorded_by")
        .get(pk=pk)
    )
    extension = ExtensionForm(prefix="prolonger")
    decision = DecisionForm(prefix="decision")
    if request.method == "POST":
        try:
            if "prolonger" in request.POST.get("action", ""):
                extension = ExtensionForm(request.POST, prefix="prolonger")
                if extension.is_valid():
                    rights_services.rights_request_extend(
                        actor=request.actor, request_id=pk, **extension.cleaned_data
                    )
                    messages.success(request, "Délai de réponse prolongé de deux mois.")
                    return redirect("web:dpo-rights-request", pk=pk)
            else:
                decision = DecisionForm(request.POST, prefix="decision")
                if decision.is_valid():
                    rights_services.rights_request_decide(
                        actor=request.actor, request_id=pk, **decision.cleaned_data
                    )
                    messages.success(request, "Réponse enregistrée.")
                    return redirect("web:dpo-rights-request", pk=pk)
        except INPUT_ERRORS as error:
            apply_domain_error(
                extension if "prolonger" in request.POST.get("action", "") else decision, error
            )
    return render(
        request,
        "web/dpo/rights_request.html",
        {
            "item": rights_request,
            "extension": extension,
            "decision": decision,
            "open": rights_request.status == RightsRequestStatus.RECEIVED,
        },
    )
