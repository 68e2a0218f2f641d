"""Referrals: the referral form (orienter), the receiver's inbox and the referral page with the
moves the transitions table allows this party — the same services as the API."""

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from notifications.selectors import alerts_visible_to
from parcours import access, gate
from parcours.categories import DataCategory
from parcours.errors import NotAllowed
from parcours.gate import Action as GateAction
from parcours.gate import Subject
from parcours.gate.journal import record_list_of, record_read_of
from parcours.gate.relations import relations_to_referral
from parcours.models import Referral, ReferralStatus
from parcours.rules import move_action
from parcours.services import referral as referral_services
from parcours.transitions import ACTION_LABELS, Action, find_move

from ..actor import member_required
from ..confirmations import CONFIRMED_MOVES, referral_confirmation
from ..forms import (
    INPUT_ERRORS,
    AppointmentForm,
    CloseForm,
    CorrectAttendanceForm,
    ReferralForm,
    RefuseForm,
    apply_domain_error,
    error_sentence,
)
from ..identity import name_shown
from .directory import build_picker, build_sheet, search_again

PAGE_SIZE = 25
MAX_AGE_DAYS = 3660  # the inbox's age filter: ten years back at most
# What a list row shows of a referral: the person's name and the referral itself.
SHOWN_IN_LISTS = frozenset({DataCategory.IDENTITY, DataCategory.PATHWAY})


@member_required
def referral_create(request, pathway_pk: int):
    actor = request.actor
    # A partner that may not orient the person gets the 403 page, not a form that fails.
    pathway = gate.pathway_for(actor, pathway_pk, GateAction.REFERRAL_CREATE, lock=False)
    # The picker's « Rechercher » without JavaScript posts the form back: shown again, unsaved.
    searching = request.method == "POST" and "rechercher" in request.POST
    if searching:
        form = search_again(ReferralForm, request.POST)
    else:
        form = ReferralForm(
            request.POST or None,
            initial={"receiver_organisation": request.GET.get("receiver_organisation")},
        )
    if request.method == "POST" and not searching and form.is_valid():
        data = form.cleaned_data
        try:
            referral = referral_services.referral_create(
                actor=actor,
                pathway_id=pathway.pk,
                receiver_organisation_id=data["receiver_organisation"].pk,
                receiver_service_id=data["receiver_service"].pk
                if data["receiver_service"]
                else None,
                kind=data["kind"],
                reason=data["reason"],
                context_note=data["context_note"],
                shared_categories=data["shared_categories"],
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, f"Orientation {referral.reference} envoyée.")
            return redirect("web:referral-detail", pk=referral.pk)
    # The directory's picker (the organisation chosen and a search, never the whole directory),
    # and the chosen organisation's sheet: its services to choose from, its delays.
    picker = build_picker(
        actor,
        field_name="receiver_organisation",
        data=request.POST if request.method == "POST" else request.GET,
        picked=form["receiver_organisation"].value(),
        errors=form.errors.get("receiver_organisation", ()),
    )
    sheet = None
    if picker.picked:
        sheet = build_sheet(
            actor,
            picker.picked[0],
            field_name="receiver_service",
            chosen=form["receiver_service"].value(),
            errors=form.errors.get("receiver_service", ()),
        )
    # The title names the person only when the organisation sees their identity (journaled).
    shows_identity = name_shown(actor, pathway)
    return render(
        request,
        "web/referrals/form.html",
        {
            "pathway": pathway,
            "shows_identity": shows_identity,
            "form": form,
            "picker": picker,
            "sheet": sheet,
        },
    )


STATUS_FILTERS = [
    ("", "Toutes"),
    (ReferralStatus.SENT, "À répondre"),
    (ReferralStatus.ACCEPTED, "Acceptées, sans rendez-vous"),
    (ReferralStatus.APPOINTMENT_SET, "Rendez-vous fixé"),
    (ReferralStatus.NO_SHOW, "Personne absente"),
    (ReferralStatus.ATTENDED, "Personne venue"),
]


@member_required
def inbox(request):
    """Referrals received by the organisation, by status and age (oldest waiting first)."""
    actor = request.actor
    referrals = (
        access.referrals_visible_to(actor)
        .filter(receiver_organisation=actor.organisation)
        .select_related("pathway__person", "sender_organisation", "receiver_service")
    )
    status = request.GET.get("statut", "")
    if status in {value for value, _label in STATUS_FILTERS if value}:
        referrals = referrals.filter(status=status)
    older_than = request.GET.get("age", "")
    # Days, from the filter's few choices; anything else (a typed URL) is no filter, not a 500:
    # "²" passes isdigit() but not int(), a huge number overflows the date arithmetic.
    if older_than.isascii() and older_than.isdigit() and int(older_than) <= MAX_AGE_DAYS:
        referrals = referrals.filter(
            sent_at__lte=timezone.now() - dt.timedelta(days=int(older_than))
        )
    page = Paginator(referrals.order_by("sent_at", "id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    grants = access.grants_for(actor, {r.pathway_id for r in page})
    visible = {pid: held.categories for pid, held in grants.items()}
    # Each row shows the person's name and the referral: identity and pathway categories.
    record_list_of(
        actor,
        GateAction.REFERRAL_LIST,
        object_type="referral",
        items=[(r.pk, [r.pathway_id]) for r in page],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    return render(
        request,
        "web/referrals/inbox.html",
        {
            "page": page,
            "status": status,
            "age": older_than,
            "status_filters": STATUS_FILTERS,
            "visible": visible,
        },
    )


def _referral_page(
    request,
    referral: Referral,
    forms: dict | None = None,
    status: int = 200,
    confirming: Action | None = None,
):
    actor = request.actor
    grants = access.grants_for(actor, [referral.pathway_id])
    categories = grants[referral.pathway_id].categories
    forms = forms or {}
    if request.method == "GET":  # a move's failed form shown again is part of that move
        record_read_of(
            actor,
            GateAction.REFERRAL_READ,
            object_type="referral",
            object_id=referral.pk,
            person_id=referral.pathway.person_id,
            pathway_ids=[referral.pathway_id],
            grants=grants,
        )
    available = referral_services.moves_offered(actor, referral)
    named = DataCategory.IDENTITY in categories
    return render(
        request,
        "web/referrals/detail.html",
        {
            "referral": referral,
            "categories": categories,
            "actions": [(action.value, ACTION_LABELS[action]) for action in available],
            "confirmations": {
                action.value: referral_confirmation(action, referral, named=named)
                for action in available
                if action in CONFIRMED_MOVES
            },
            "confirming": confirming.value if confirming else "",
            "refuse_form": forms.get("refuse") or RefuseForm(),
            "appointment_form": forms.get("set_appointment") or AppointmentForm(),
            "close_form": forms.get("close") or CloseForm(),
            "correct_form": forms.get("correct_attendance") or CorrectAttendanceForm(),
            "appointments": referral.appointments.order_by("-starts_at"),
            "alerts": alerts_visible_to(actor).filter(referral=referral).order_by("-created_at"),
        },
        status=status,
    )


def _visible_referral(request, pk: int, action: GateAction) -> Referral:
    return gate.locate(
        request.actor,
        access.referrals_visible_to(request.actor).select_related(
            "pathway__person", "sender_organisation", "receiver_organisation", "receiver_service"
        ),
        pk,
        action=action,
    )


@member_required
def referral_detail(request, pk: int):
    return _referral_page(request, _visible_referral(request, pk, GateAction.REFERRAL_READ))


ACTION_FORMS = {
    Action.REFUSE: RefuseForm,
    Action.SET_APPOINTMENT: AppointmentForm,
    Action.CLOSE: CloseForm,
    Action.CORRECT_ATTENDANCE: CorrectAttendanceForm,
}


@require_POST
@member_required
def referral_move(request, pk: int, action: str):
    """One POST per move; the service checks the party and the transitions table."""
    actor = request.actor
    try:
        move = Action(action)
    except ValueError:
        raise Http404 from None
    if move not in referral_services.PARTY_MOVE_SERVICES:
        raise Http404  # a system move (expiry) is no page's to make
    referral = _visible_referral(request, pk, move_action(move))
    form = ACTION_FORMS[move](request.POST) if move in ACTION_FORMS else None
    if form is not None and not form.is_valid():
        return _referral_page(request, referral, {move.value: form}, status=400)
    if (
        move in CONFIRMED_MOVES
        and request.POST.get("confirm") != "1"
        and find_move(move, referral.status) is not None  # else the service says why not
    ):
        # Not confirmed (no JavaScript, or a hand-made request): a party the table refuses is
        # refused now (403), the others get the form again with what the move will do.
        gate.require(
            actor,
            move_action(move),
            relations=relations_to_referral(actor, referral),
            subject=Subject("referral", referral.pk, referral.pathway.person_id),
        )
        if move == Action.CORRECT_ATTENDANCE:  # and only its author, within the delay
            gate.require_author(
                actor,
                move_action(move),
                author_id=referral.attendance_recorded_by_id,
                until=referral.attendance_correctable_until,
                subject=Subject("referral", referral.pk, referral.pathway.person_id),
            )
        messages.warning(request, "Confirmez l'action : rien n'a encore été enregistré.")
        return _referral_page(
            request, referral, {move.value: form} if form else None, status=400, confirming=move
        )
    data = form.cleaned_data if form is not None else {}
    try:
        referral_services.referral_move(actor=actor, referral_id=pk, action=move, **data)
    except NotAllowed:
        raise  # the gate's refusal (the wrong party): the 403 page (member_required)
    except INPUT_ERRORS as error:
        if form is not None:
            apply_domain_error(form, error)
            return _referral_page(request, referral, {move.value: form}, status=400)
        messages.error(request, error_sentence(error))
    else:
        messages.success(
            request, f"Orientation {referral.reference} : « {ACTION_LABELS[move]} » fait."
        )
    return redirect("web:referral-detail", pk=pk)
