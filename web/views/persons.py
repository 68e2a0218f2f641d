"""People: search, page (identity, flags, référent, modality, barriers, timeline, consents),
creation and edition. Scope and categories come from parcours.access only."""

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from parcours import access, evidence, gate
from parcours.api.filters import PersonFilter
from parcours.categories import PERSON_FIELDS, DataCategory, barrier_category
from parcours.errors import DuplicatePerson, NotAllowed
from parcours.gate import Action, Relation
from parcours.gate.journal import record_list_of, record_read_of
from parcours.gate.relations import (
    pathways_of_person_fetched,
    relations_to_person,
    relations_to_plan_action,
)
from parcours.labels import organisation_kind_recipients
from parcours.models import (
    OBJECTIVE_MOVES,
    PLAN_ACTION_MOVES,
    Consent,
    Pathway,
    PathwayStatus,
    Person,
    ReferralStatus,
)
from parcours.selectors import person_page as page_reads
from parcours.selectors.action_plan import is_overdue, plan_of
from parcours.selectors.diagnostic import diagnostic_by_domain
from parcours.selectors.relationships import OPEN_CARE_TEAM
from parcours.selectors.rights_end import rights_end_coming
from parcours.services import break_glass as break_glass_services
from parcours.services import consent as consent_services
from parcours.services import person as person_services
from parcours.services.archive import pathway_takes_writes

from ..action_plan_forms import OBJECTIVE_MOVE_LABELS, PLAN_ACTION_MOVE_LABELS
from ..actor import member_required
from ..forms import (
    INPUT_ERRORS,
    BreakGlassForm,
    ConsentForm,
    ConsentNarrowForm,
    PersonForm,
    PersonSearchForm,
    apply_domain_error,
    error_sentence,
)
from ..pathway_forms import ObjectionForm
from .directory import build_picker, search_again
from .pathways import WRITES

PAGE_SIZE = 20
# Person fields the page does not list as such (the title shows the name; dates are technical).
SHOWN_ELSEWHERE = {"id", "first_name", "last_name", "created_at", "updated_at"}


@member_required
def person_search(request):
    """POST, not GET: names, birth dates and NIRs never travel in a URL (logs, history)."""
    actor = request.actor
    form = PersonSearchForm(request.POST if request.method == "POST" else None)
    page = None
    if form.is_bound and form.is_valid() and any(form.cleaned_data.values()):
        # The API's filter set: the same blind-index lookups for NIR and France Travail id.
        filtered = PersonFilter(
            {k: v for k, v in request.POST.items() if k in form.fields and v},
            queryset=access.persons_visible_to(actor).order_by("last_name", "first_name", "id"),
        )
        if filtered.is_valid():
            page = Paginator(
                filtered.qs.prefetch_related(
                    Prefetch("pathways", Pathway.objects.only("pk", "person_id"), "all_pathways")
                ),
                PAGE_SIZE,
            ).get_page(request.POST.get("page"))
            # The results show names and birth dates: the identity of each person.
            record_list_of(
                actor,
                Action.PERSON_LIST,
                object_type="person",
                items=[(p.pk, [pw.pk for pw in p.all_pathways]) for p in page],
                shown={DataCategory.IDENTITY},
            )
        else:
            for field, errors in filtered.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
    # As the user types (htmx), only the results: the same search, scope and journal.
    template = "web/persons/_results.html" if request.htmx else "web/persons/search.html"
    return render(request, template, {"form": form, "page": page, "oob": request.htmx})


def _visible_pathways(actor, person: Person) -> list[Pathway]:
    return list(
        access.pathways_visible_to(actor)
        .filter(person=person)
        .select_related("referent", "owner_organisation", "referent_organisation")
        .order_by("-opened_at")
    )


def _person_scope(actor, now: dt.datetime | None = None):
    return access.persons_visible_to(actor, now=now)


# The page's person by id, its scope compiled once per role (as the API's person detail).
PERSON = access.ScopedRecord(Person, _person_scope)


@member_required
def person_detail(request, pk: int):
    actor = request.actor
    return _person_page(
        request,
        gate.locate_compiled(
            actor, PERSON, lambda: _person_scope(actor), pk, action=Action.PERSON_READ
        ),
    )


def _person_page(
    request,
    person: Person,
    *,
    consent_form=None,
    break_glass_form=None,
    narrowing: dict | None = None,
    objection_form=None,
    status: int = 200,
):
    """The person page; a form of it that failed (consent, break-glass, narrowing a consent,
    objection) is shown again, open, with its errors and what was typed or ticked (or, after the
    organisation picker's search without JavaScript, with what was typed)."""
    actor = request.actor
    # Every pathway of the person once, with its referrals and care team: the gate's relations
    # are made of them, and the page shows those the actor sees (issue 17: each was read twice).
    every = pathways_of_person_fetched(person.pk)  # its statements compiled once (issue 17)
    held = access.grants_for(actor, [p.pk for p in every])
    # Those it holds a category of: what `access.pathways_visible_to` answers, newest first.
    pathways = [p for p in every if held[p.pk].categories]
    grants = {p.pk: held[p.pk] for p in pathways}
    by_pathway = {pid: held.categories for pid, held in grants.items()}
    categories: set[str] = set().union(*by_pathway.values()) if by_pathway else set()
    pathway = pathways[0] if pathways else None
    relations = relations_to_person(actor, person.pk, pathways=every)
    model_fields = {f.name for f in Person._meta.get_fields()}
    fields = [
        (Person._meta.get_field(name).verbose_name, getattr(person, name))
        for name, category in PERSON_FIELDS.items()
        if category in categories and name in model_fields and name not in SHOWN_ELSEWHERE
    ]
    hidden = [c for c in DataCategory if c not in categories]
    timeline, barriers, periods, referrals, diagnostic, care_team = [], [], [], [], [], []
    if pathway is not None:
        # The shared diagnostic: the domains of the categories seen (one query, versions with
        # their authors); the person read below journals those categories.
        # The pathway's reads, given its categories: statements compiled once
        # (parcours.selectors.person_page, the querysets of parcours.access they stand for).
        diagnostic = diagnostic_by_domain(
            page_reads.diagnostic_of(pathway.pk, by_pathway[pathway.pk]), by_pathway[pathway.pk]
        )
        timeline = page_reads.timeline_of(pathway.pk, by_pathway[pathway.pk])
        if DataCategory.SOCIAL in categories:
            barriers = [
                b for b in page_reads.barriers_of(pathway) if barrier_category(b.kind) in categories
            ]
        if DataCategory.PATHWAY in categories:
            periods = page_reads.periods_of(pathway)
            # Fetched with the pathway (newest first; the open team in the order it formed):
            # the per-pathway rules of parcours.access say which of them the page shows.
            referrals = access.pathway_referrals_shown(
                actor, pathway.referrals.all(), by_pathway[pathway.pk]
            )
            care_team = access.pathway_care_team_shown(
                getattr(pathway, OPEN_CARE_TEAM), by_pathway[pathway.pk]
            )
    consents = page_reads.consents_of(actor, person.pk, categories)
    for consent in consents:  # revoke and narrow: its collector or the pathway's holders
        collected = consent.collected_by_organisation_id == actor.organisation.pk
        consent.changeable = gate.may(
            actor, Action.CONSENT_REVOKE, relations | ({Relation.COLLECTOR} if collected else set())
        )
    timeline = _with_consents(timeline, consents)
    actions = gate.actions_for(actor, relations)
    # The consent form (its organisation picker and every category) is a third of the page:
    # it is built only when shown again (a failed post, a search without JavaScript); otherwise
    # the page links to it and htmx loads it when its section opens (`consent_create`, GET).
    consent_picker = None
    if consent_form is not None:
        consent_picker = _consent_picker(request, consent_form, referrals)
    record_read_of(
        actor,
        Action.PERSON_READ,
        object_type="person",
        object_id=person.pk,
        person_id=person.pk,
        pathway_ids=list(grants),
        grants=grants,
    )
    return render(
        request,
        "web/persons/detail.html",
        {
            "person": person,
            "pathway": pathway,
            "fields": fields,
            # The benefit-transition notice: what the référent's e-mail said, on the record.
            "rights_end_coming": rights_end_coming(person, timezone.localdate())
            if DataCategory.PATHWAY in categories and pathway is not None
            else None,
            "categories": sorted(categories),
            "hidden": hidden,
            "timeline": timeline,
            "barriers": barriers,
            "periods": periods,
            "referrals": referrals,
            "consents": consents,
            "consent_form": consent_form,
            "consent_picker": consent_picker,
            "break_glass_form": break_glass_form or BreakGlassForm(),
            "break_glass_form_open": break_glass_form is not None,
            "narrowing": narrowing or {},
            "objection_form": objection_form or ObjectionForm(),
            "objection_form_open": objection_form is not None,
            "consents_not_shown": access.consents_not_shown_count(actor, person.pk, len(consents)),
            "objection": page_reads.objection_of(person.pk, categories),
            "actions": actions,
            "pathway_writes": _pathway_writes(pathway, actions),
            "can_refer": pathway is not None and Action.REFERRAL_CREATE in actions,
            "can_propose_to_committee": pathway_takes_writes(pathway)
            and Action.COMMITTEE_PROPOSE in actions,
            "diagnostic": diagnostic,
            "can_write_diagnostic": pathway_takes_writes(pathway)
            and Action.DIAGNOSTIC_WRITE in actions,
            **_plan_context(actor, pathway, relations, actions, by_pathway),
            "care_team": care_team,
        },
        status=status,
    )


def _plan_context(actor, pathway: Pathway | None, relations, actions, by_pathway) -> dict:
    """The action plan of the pathway shown (pathway category), each item with the moves its
    buttons offer — what the gate's table allows this organisation — and overdue actions
    marked. Writes only on an open pathway that is not archived."""
    if pathway is None or DataCategory.PATHWAY not in by_pathway[pathway.pk]:
        return {"plan": None}
    objectives = plan_of(actor, pathway.pk, by_pathway[pathway.pk])
    writable = pathway_takes_writes(pathway)
    today = timezone.localdate()
    for objective in objectives:
        objective.moves = (
            plan_moves(OBJECTIVE_MOVES[objective.status], OBJECTIVE_MOVE_LABELS)
            if writable and Action.PLAN_OBJECTIVE_SET_STATUS in actions
            else []
        )
        objective.can_add = (
            writable and objective.status == "open" and Action.PLAN_ACTION_ADD in actions
        )
        for item in objective.actions.all():
            item.overdue = is_overdue(item, today)
            allowed = writable and gate.may(
                actor,
                Action.PLAN_ACTION_SET_STATUS,
                relations_to_plan_action(actor, item, frozenset(relations)),
            )
            item.moves = (
                plan_moves(PLAN_ACTION_MOVES[item.status], PLAN_ACTION_MOVE_LABELS)
                if allowed
                else []
            )
    return {
        "plan": objectives,
        "can_add_objective": writable and Action.PLAN_OBJECTIVE_ADD in actions,
    }


def plan_moves(moves, labels) -> list[tuple[str, str]]:
    """(status, button label) of the moves, in the order of the labels."""
    return [(status, str(label)) for status, label in labels.items() if status in moves]


def _pathway_writes(pathway: Pathway | None, actions) -> list[tuple[str, str]]:
    """(slug, title) of the pathway's writes the gate allows here and its state admits: an
    archived record can only be reactivated, a closed one takes none of them."""
    if pathway is None or (pathway.status != PathwayStatus.OPEN and not pathway.archived_at):
        return []
    return [
        (slug, write.title)
        for slug, write in WRITES.items()
        if write.action in actions
        and (write.action == Action.PATHWAY_REACTIVATE) == bool(pathway.archived_at)
    ]


@member_required
def person_create(request):
    actor = request.actor
    # A role that may not create a person gets the 403 page, not a form that always fails.
    gate.require(actor, Action.PERSON_CREATE)
    form = PersonForm(request.POST or None)
    ask_access = False  # followed elsewhere: the way in is an access request
    if request.method == "POST" and form.is_valid():
        # What was filled in or ticked (an unticked box is the model's default): the journal
        # names the categories written.
        details = {k: v for k, v in form.cleaned_data.items() if v not in ("", None, False)}
        try:
            person = person_services.person_create(actor=actor, **details)
        except DuplicatePerson as duplicate:
            form.add_error(None, duplicate.message)
            ask_access = duplicate.access_request_possible
            if duplicate.existing_person_id:
                url = reverse("web:person-detail", args=[duplicate.existing_person_id])
                messages.info(request, f"Fiche existante : {request.build_absolute_uri(url)}")
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "La personne a été créée et son parcours ouvert.")
            return redirect("web:person-detail", pk=person.pk)
    return render(
        request,
        "web/persons/form.html",
        {"form": form, "creating": True, "ask_access": ask_access},
    )


@member_required
def person_edit(request, pk: int):
    """Rectification (history kept): only the fields the actor may see and the service edits."""
    actor = request.actor
    person = gate.locate(actor, access.persons_visible_to(actor), pk, action=Action.PERSON_RECTIFY)
    gate.require(  # a partner that may not rectify gets the 403 page, not a form that fails
        actor,
        Action.PERSON_RECTIFY,
        relations=relations_to_person(actor, person.pk),
        subject=gate.Subject("person", person.pk, person.pk),
    )
    # The service says which fields this organisation may rectify (those of the categories it
    # sees); the form holds only those.
    editable = [
        name
        for name in person_services.person_fields_editable_by(actor, person.pk)
        if name in PersonForm.base_fields
    ]
    initial = {name: getattr(person, name) for name in editable}
    form = PersonForm(request.POST or None, initial=initial)
    for name in list(form.fields):
        if name not in editable:
            del form.fields[name]
    # A field of a category it does not see, posted all the same (a forged form): the
    # service's refusal of it (journaled), the 403 page — nothing is written.
    smuggled = {
        name: request.POST[name]
        for name in PersonForm.base_fields
        if name in request.POST and name not in editable
    }
    if smuggled:
        person_services.person_update(actor=actor, person_id=person.pk, changes=smuggled)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if v != initial.get(k)}
        try:
            person_services.person_update(actor=actor, person_id=person.pk, changes=changes)
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "Fiche mise à jour (l'historique est conservé).")
            return redirect("web:person-detail", pk=person.pk)
    if request.method != "POST":  # the form shows the values of the editable fields
        record_read_of(
            actor,
            Action.PERSON_READ,
            object_type="person",
            object_id=person.pk,
            person_id=person.pk,
            pathway_ids=person.pathways.values_list("pk", flat=True),
            shown={PERSON_FIELDS[name] for name in editable},
        )
    return render(request, "web/persons/form.html", {"form": form, "person": person})


def _consent_picker(request, consent_form, referrals):
    """The consent form's organisation picker: what the form holds, and before any search the
    partners of the pathway's referrals."""
    return build_picker(
        request.actor,
        field_name="organisations",
        data=request.POST if request.method == "POST" else None,
        picked=consent_form["organisations"].value(),
        suggested=[r.receiver_organisation_id for r in referrals]
        + [r.sender_organisation_id for r in referrals],
        errors=consent_form.errors.get("organisations", ()),
    )


def _consent_form_page(request, person: Person):
    """The empty consent form: the fragment htmx loads into the person page when its section
    opens, or, without JavaScript (the section's link), a page of its own that names the person.
    What it shows of the record (the name on its own page, the pathway's partners suggested by
    the picker) is journaled as a read of the person, like the person page."""
    actor = request.actor
    gate.require(  # a partner that may not record one gets the 403 page, not a form that fails
        actor,
        Action.CONSENT_RECORD,
        relations=relations_to_person(actor, person.pk),
        subject=gate.Subject("person", person.pk, person.pk),
    )
    pathways = _visible_pathways(actor, person)
    grants = access.grants_for(actor, [p.pk for p in pathways])
    pathway = pathways[0] if pathways else None
    referrals = (  # the same per-pathway scope as the person page's
        list(access.pathway_referrals_visible_to(actor, pathway.pk, grants[pathway.pk].categories))
        if pathway is not None
        else []
    )
    shown = ({DataCategory.PATHWAY} if referrals else set()) | (
        set() if request.htmx else {DataCategory.IDENTITY}
    )
    if shown:
        record_read_of(
            actor,
            Action.PERSON_READ,
            object_type="person",
            object_id=person.pk,
            person_id=person.pk,
            pathway_ids=list(grants),
            shown=shown,
            grants=grants,
        )
    form = ConsentForm()
    template = "web/persons/_consent_form.html" if request.htmx else "web/persons/consent_form.html"
    context = {
        "person": person,
        "consent_form": form,
        "consent_picker": _consent_picker(request, form, referrals),
    }
    return render(request, template, context)


@member_required
@vary_on_headers("HX-Request")
def consent_create(request, pk: int):
    actor = request.actor
    person = gate.locate(actor, access.persons_visible_to(actor), pk, action=Action.CONSENT_RECORD)
    if request.method != "POST":
        return _consent_form_page(request, person)
    if "rechercher" in request.POST:  # the organisation picker's search, without JavaScript
        return _person_page(request, person, consent_form=search_again(ConsentForm, request.POST))
    form = ConsentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            # One consent per group of categories going to the same organisations.
            consent_services.consent_record_choices(
                actor=actor,
                person_id=person.pk,
                choices=form.cleaned_data["choices"],
                purpose=form.cleaned_data["purpose"],
                starts_on=form.cleaned_data.get("starts_on"),
                ends_on=form.cleaned_data.get("ends_on"),
                evidence_kind=form.cleaned_data["evidence_kind"],
                evidence_file=form.cleaned_data.get("evidence_file"),
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "L'accord de la personne est enregistré.")
            return redirect("web:person-detail", pk=person.pk)
    # Shown again, open, with its errors and what was ticked: nothing typed is lost.
    return _person_page(request, person, consent_form=form, status=400)


@member_required
@require_GET
def consent_evidence(request, pk: int, consent_pk: int):
    """The consent's evidence file, as an attachment: the gate, the journal and the headers are
    parcours.evidence's, as for the API (a consent the actor may not read is not found)."""
    download = evidence.evidence_read(actor=request.actor, consent_id=consent_pk, person_id=pk)
    return evidence.http_response(download)


@member_required
def consent_revoke(request, pk: int, consent_pk: int):
    actor = request.actor
    if request.method == "POST":
        try:  # the service finds the consent within the actor's scope (404 otherwise)
            consent_services.consent_revoke(actor=actor, consent_id=consent_pk)
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            messages.error(request, error_sentence(error))
        else:
            messages.success(request, "L'accord est retiré : les accès qu'il ouvrait sont fermés.")
    return redirect("web:person-detail", pk=pk)


@member_required
def consent_narrow(request, pk: int, consent_pk: int):
    actor = request.actor
    if request.method != "POST":
        return redirect("web:person-detail", pk=pk)
    form = ConsentNarrowForm(request.POST, auto_id=f"restreindre_{consent_pk}_%s")
    if form.is_valid():
        try:  # the service finds the consent within the actor's scope (404 otherwise)
            consent_services.consent_narrow(
                actor=actor, consent_id=consent_pk, categories=form.cleaned_data["categories"]
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "L'accord est restreint : les accès retirés sont fermés.")
            return redirect("web:person-detail", pk=pk)
    # Shown again, open, with what was ticked and why it was not done (a consent out of the
    # actor's scope is not found, as the service would say of a valid form).
    person = gate.locate(actor, access.persons_visible_to(actor), pk, action=Action.PERSON_READ)
    gate.locate(
        actor,
        access.consents_visible_to(actor).filter(person=person),
        consent_pk,
        action=Action.CONSENT_NARROW,
    )
    narrowing = {
        "consent_pk": consent_pk,
        "kept": request.POST.getlist("categories"),
        "errors": [e for errors in form.errors.values() for e in errors],
    }
    return _person_page(request, person, narrowing=narrowing, status=400)


@member_required
def break_glass(request, pk: int):
    actor = request.actor
    person = gate.locate(
        actor, access.persons_visible_to(actor), pk, action=Action.BREAK_GLASS_OPEN
    )
    if request.method != "POST":  # the form is on the person's page
        return redirect("web:person-detail", pk=person.pk)
    # The pathway the organisation works with (the person's newest may be another's).
    pathway = next(iter(_visible_pathways(actor, person)), None)
    form = BreakGlassForm(request.POST)
    if form.is_valid() and pathway is not None:
        try:
            break_glass_services.break_glass_open(
                actor=actor,
                pathway_id=pathway.pk,
                category=form.cleaned_data["category"],
                reason=form.cleaned_data["reason"],
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.warning(
                request, "Accès exceptionnel ouvert : il est journalisé et votre DPO est prévenu."
            )
            return redirect("web:person-detail", pk=person.pk)
    if pathway is None:
        form.add_error(None, "Aucun parcours de cette personne n'est suivi par votre organisation.")
    # Shown again, open, with the reason typed and what is wrong.
    return _person_page(request, person, break_glass_form=form, status=400)


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    title: str
    detail: str = ""


def _with_consents(events, consents) -> list[TimelineEntry]:
    """The pathway's events and the person's consents (given, withdrawn) in one timeline."""
    entries = [
        TimelineEntry(
            at=event.occurred_at,
            title=str(event.get_kind_display())
            + (f" {event.referral.reference}" if event.referral else "")
            + (
                f" ({ReferralStatus(event.referral_status).label.lower()})"
                if event.referral_status
                else ""
            ),
            detail=", ".join(
                part
                for part in ((event.organisation.name if event.organisation else ""), event.text)
                if part
            ),
        )
        for event in events
    ]
    for consent in consents:
        to = ", ".join(
            [o.name for o in consent.organisations.all()]
            + organisation_kind_recipients(consent.organisation_kinds)
        )
        entries.append(TimelineEntry(consent.created_at, "Accord de la personne donné", to))
        if consent.revoked_at:
            entries.append(TimelineEntry(consent.revoked_at, "Accord de la personne retiré", to))
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


__all__ = ["Consent"]
