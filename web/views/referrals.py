"""Referrals: the referral form (orienter), the receiver's inbox and the referral page with the
moves the transitions table allows this party — the same services as the API."""

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from notifications.selectors import referral_alerts
from parcours import access, gate
from parcours.categories import DataCategory
from parcours.errors import Conflict, NotAllowed
from parcours.gate import Action as GateAction
from parcours.gate import Subject
from parcours.gate.journal import record_list_of, record_read_of
from parcours.gate.relations import relations_to_referral
from parcours.models import ASSIGNABLE_STATUSES, Referral, ReferralStatus
from parcours.rules import move_action
from parcours.selectors import worklists
from parcours.selectors.referral_messages import thread_of, with_unread_messages
from parcours.selectors.referrals import appointments_of
from parcours.services import referral as referral_services
from parcours.services import referral_assignment
from parcours.services import referral_message as message_services
from parcours.transitions import ACTION_LABELS, Action, find_move

from ..actor import member_required
from ..compiled_pages import CompiledPages
from ..confirmations import CONFIRMED_MOVES, referral_confirmation
from ..forms import (
    INPUT_ERRORS,
    AppointmentForm,
    AssignForm,
    CloseForm,
    CorrectAttendanceForm,
    ReferralForm,
    ReferralMessageForm,
    RefuseForm,
    apply_domain_error,
    error_sentence,
)
from ..identity import name_shown
from ..listing import naming_persons, sealed_fields
from ..transfer_forms import DeclineTransferForm, TransferForm
from . import receiver_link as receiver_link_views
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


# « À traiter »'s « Issue à saisir » block: a passed appointment without its outcome.
AWAITING_OUTCOME = "issue-a-saisir"
STATUS_FILTERS = [
    ("", "Toutes"),
    (ReferralStatus.SENT, "À répondre"),
    (ReferralStatus.ACCEPTED, "Acceptées, sans rendez-vous"),
    (ReferralStatus.APPOINTMENT_SET, "Rendez-vous fixé"),
    (AWAITING_OUTCOME, "Rendez-vous passé, issue à saisir"),
    (ReferralStatus.NO_SHOW, "Personne absente"),
    (ReferralStatus.ATTENDED, "Personne venue"),
    (ReferralStatus.TRANSFER_PROPOSED, "Réorientation proposée"),
]


# The receiving team (« attribution » in the URL, kept when paginating): the whole team's by
# default, the acting user's own, or those nobody is in charge of yet.
MINE, TEAM, UNASSIGNED = "mes-orientations", "equipe", "non-attribuees"
ASSIGNMENT_FILTERS = [
    (TEAM, "Toute l'équipe"),
    (MINE, "Mes orientations"),
    (UNASSIGNED, "Non attribuées"),
]


STATUS_VALUES = frozenset(value for value, _label in STATUS_FILTERS if value)


def _inbox_referrals(
    actor,
    now: dt.datetime | None,
    status: str,
    assignment: str,
    user: int | None = None,
    sent_before: dt.datetime | None = None,
):
    """The inbox's rows by its filters, oldest waiting first: the ORM's path and the compiled
    one (`_InboxRows`). `user`: the acting user's id (« Mes orientations »); `sent_before`: the
    age filter's bound."""
    if status == AWAITING_OUTCOME:
        referrals = worklists.awaiting_outcome(actor, now=now)
    else:
        referrals = worklists.received(actor, now=now)
        if status in STATUS_VALUES:
            referrals = referrals.filter(status=status)
    referrals = with_unread_messages(
        naming_persons(referrals, "pathway")
        # Fetched after the page's rows, not joined: joined, PostgreSQL planned the inbox's
        # statement for ~4.5 ms at 1 M pathways (see parcours/api/views.py `served_referrals`).
        .prefetch_related("sender_organisation", "receiver_service", "assigned_user")
        .defer(*sealed_fields(Referral)),  # the context note is the referral's page's
        actor,
    )
    if assignment == MINE:
        referrals = referrals.filter(assigned_user=user)
    elif assignment == UNASSIGNED:
        referrals = referrals.filter(assigned_user__isnull=True)
    if sent_before is not None:
        referrals = referrals.filter(sent_at__lte=sent_before)
    return referrals.order_by("sent_at", "id")


def _inbox_shape(actor, now, status, assignment, aged, user=None, sent_before=None):
    """The inbox's rows by its filters (`aged`: whether `sent_before` is given)."""
    return _inbox_referrals(actor, now, status, assignment, user, sent_before)


def _inbox_names(filters: tuple[str, str, bool]) -> list[str]:
    _status, assignment, aged = filters
    return (["user"] if assignment == MINE else []) + (["sent_before"] if aged else [])


# The inbox's count and pages compiled once per role, filters and page (issue 17: building and
# compiling them was a large share of the page's CPU).
INBOX_PAGES = CompiledPages(
    Referral, _inbox_shape, _inbox_names, types={"sent_before": dt.datetime}
)


@member_required
def inbox(request):
    """Referrals received by the organisation, by status, age and who is in charge of them
    (oldest waiting first). The home's « À répondre » and « Issue à saisir » blocks link here,
    filtered: the same querysets (parcours/selectors/worklists.py), so their counters are this
    page's totals."""
    actor = request.actor
    now = timezone.now()
    status = request.GET.get("statut", "")
    assignment = request.GET.get("attribution", TEAM)
    if assignment not in {MINE, UNASSIGNED}:
        assignment = TEAM  # anything else typed in the URL: the whole team, not an error
    older_than = request.GET.get("age", "")
    sent_before = None
    # Days, from the filter's few choices; anything else (a typed URL) is no filter, not a 500:
    # "²" passes isdigit() but not int(), a huge number overflows the date arithmetic.
    if older_than.isascii() and older_than.isdigit() and int(older_than) <= MAX_AGE_DAYS:
        sent_before = now - dt.timedelta(days=int(older_than))
    shown_status = status if status in STATUS_VALUES else ""
    user = actor.user.pk if assignment == MINE else None

    filters = (shown_status, assignment, sent_before is not None)
    values = {"user": user, "sent_before": sent_before}
    given = {name: value for name, value in values.items() if value is not None}
    # Compiled, or the ORM's queryset for personal grants (break-glass).
    referrals = INBOX_PAGES.queryset(actor, now, filters, given)
    page = Paginator(referrals, PAGE_SIZE).get_page(request.GET.get("page"))
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
            "assignment": assignment,
            "assignment_filters": ASSIGNMENT_FILTERS,
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
    # « Confier à »: the receiver's counsellors, social workers and managers (the gate's
    # table), while the receiver still handles the referral.
    assignable = (
        referral.status in ASSIGNABLE_STATUSES
        and not referral.pathway.archived_at
        and gate.may(actor, GateAction.REFERRAL_ASSIGN, relations_to_referral(actor, referral))
    )
    thread = _thread(request, referral, grants)
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
            "decline_transfer_form": forms.get("decline_transfer") or DeclineTransferForm(),
            "transferred_from": _transferred_from(referral),
            # A form posted with errors is shown again, whatever the referral became meanwhile.
            "assign_form": forms.get("assign") or (AssignForm(actor=actor) if assignable else None),
            "appointments": appointments_of(referral),
            "alerts": referral_alerts(actor, referral),
            **thread,
            "message_form": forms.get("message") or ReferralMessageForm(),
            # The link of a receiver without an account (issue 19): its sender's block.
            "receiver_link": receiver_link_views.sender_block(actor, referral),
        },
        status=status,
    )


def _thread(request, referral: Referral, grants) -> dict:
    """The « Messages » section: the thread, to the case workers of the referral's two parties
    (the gate's table), and whether they may write. On a GET the messages shown are journaled
    (a read of the thread; nothing to journal for an empty one) and marked read for the
    organisation; a form shown again after a mistake is part of that post (nothing journaled,
    nothing marked), as for the referral's moves."""
    actor = request.actor
    relations = relations_to_referral(actor, referral)
    if not gate.may(actor, GateAction.REFERRAL_MESSAGE_READ, relations):
        return {"thread": None}
    thread = thread_of(actor, referral)
    read_before = None
    if request.method == "GET" and thread.messages:
        read_before = message_services.referral_messages_mark_read(
            actor=actor, referral_id=referral.pk, up_to_id=thread.newest_id
        )
        record_read_of(
            actor,
            GateAction.REFERRAL_MESSAGE_READ,
            object_type="referral",
            object_id=referral.pk,
            person_id=referral.pathway.person_id,
            pathway_ids=[referral.pathway_id],
            shown={DataCategory.PATHWAY},
            grants=grants,
        )
    other = (
        referral.receiver_organisation
        if referral.sender_organisation_id == actor.organisation.pk
        else referral.sender_organisation
    )
    return {
        "thread": thread,
        # Messages of the other party the organisation had not read before this visit.
        "new_messages": {
            m.pk
            for m in thread.messages
            if read_before is not None
            and m.pk > read_before
            and m.author_organisation_id != actor.organisation.pk
        },
        "counterpart": other,
        "may_post_message": gate.may(actor, GateAction.REFERRAL_MESSAGE_POST, relations)
        and referral.status != ReferralStatus.DRAFT
        and referral.pathway.archived_at is None,
    }


def _transferred_from(referral: Referral) -> Referral | None:
    """The referral this one follows (a réorientation), else None."""
    try:
        return referral.transferred_from
    except Referral.DoesNotExist:
        return None


def _referral_page_scope(actor, now: dt.datetime | None = None):
    """The referrals a referral's page (and its moves) reads one of: the ORM's path and the
    compiled one (`REFERRAL`)."""
    # The parties and the referrals before and after a transfer fetched after the row, not
    # joined: eleven relations joined made PostgreSQL plan for 9–12 ms a statement it ran in
    # 0.5 ms at 1 M pathways (see parcours/api/views.py `served_referrals`).
    return (
        access.referrals_visible_to(actor, now=now)
        .select_related("pathway__person")
        .prefetch_related(
            "sender_organisation",
            "receiver_organisation",
            "receiver_service",
            "transfer_organisation",
            "transfer_service",
            "transferred_to__receiver_organisation",
            "transferred_from__receiver_organisation",
            "assigned_user",
        )
    )


# Compiled once per role (issue 17): building and compiling the scope was a share of the page's
# CPU on every request.
REFERRAL = access.ScopedRecord(Referral, _referral_page_scope)


def _visible_referral(request, pk: int, action: GateAction) -> Referral:
    actor = request.actor
    return gate.locate_compiled(
        actor, REFERRAL, lambda: _referral_page_scope(actor), pk, action=action
    )


@member_required
def referral_detail(request, pk: int):
    return _referral_page(request, _visible_referral(request, pk, GateAction.REFERRAL_READ))


ACTION_FORMS = {
    Action.REFUSE: RefuseForm,
    Action.SET_APPOINTMENT: AppointmentForm,
    Action.CLOSE: CloseForm,
    Action.CORRECT_ATTENDANCE: CorrectAttendanceForm,
    Action.DECLINE_TRANSFER: DeclineTransferForm,
}
# Moves made on a page of their own (the proposal of a transfer names a partner found with the
# directory's picker: `referral_transfer`), or never from a page (a transfer under an agreement
# is what a proposal becomes when the agreement allows it).
OWN_PAGE_MOVES = frozenset({Action.PROPOSE_TRANSFER, Action.TRANSFER_UNDER_AGREEMENT})


@require_POST
@member_required
def referral_move(request, pk: int, action: str):
    """One POST per move; the service checks the party and the transitions table."""
    actor = request.actor
    try:
        move = Action(action)
    except ValueError:
        raise Http404 from None
    if move not in referral_services.PARTY_MOVE_SERVICES or move in OWN_PAGE_MOVES:
        raise Http404  # a system move (expiry) is no page's to make; a transfer has its own
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


@member_required
def referral_transfer(request, pk: int):
    """« Proposer une réorientation »: the receiver names another partner (the directory's
    picker and the chosen organisation's services, as on the referral form) and why. Done at
    once when an agreement in force between the receiver and the partner allows it; otherwise
    the sender confirms or declines on the referral's page. The same service as the API's
    `propose-transfer/`; out of scope 404, the wrong party 403 (journaled)."""
    actor = request.actor
    action = move_action(Action.PROPOSE_TRANSFER)
    referral = _visible_referral(request, pk, action)
    subject = Subject("referral", referral.pk, referral.pathway.person_id)
    # A party the table refuses gets the 403 page before anything is typed.
    gate.require(actor, action, relations=relations_to_referral(actor, referral), subject=subject)
    if find_move(Action.PROPOSE_TRANSFER, referral.status) is None:
        messages.error(
            request,
            f"Impossible de « {ACTION_LABELS[Action.PROPOSE_TRANSFER]} » : l'orientation est à "
            f"l'état « {referral.get_status_display()} ».",
        )
        return redirect("web:referral-detail", pk=referral.pk)
    searching = request.method == "POST" and "rechercher" in request.POST
    if searching:  # the organisation picker's search, without JavaScript
        form = search_again(TransferForm, request.POST)
    else:
        form = TransferForm(request.POST or None)
    if request.method == "POST" and not searching and form.is_valid():
        data = form.cleaned_data
        try:
            moved = referral_services.referral_propose_transfer(
                actor=actor,
                referral_id=referral.pk,
                receiver_organisation_id=data["receiver_organisation"].pk,
                receiver_service_id=data["receiver_service"].pk
                if data["receiver_service"]
                else None,
                reason=data["reason"],
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            partner = data["receiver_organisation"].name
            if moved.status == ReferralStatus.TRANSFERRED:
                messages.success(
                    request,
                    f"Orientation {referral.reference} réorientée vers {partner}, dans le cadre "
                    "de votre convention : la nouvelle orientation lui est envoyée.",
                )
            else:
                messages.success(
                    request,
                    f"Réorientation vers {partner} proposée à {referral.sender_organisation.name}"
                    " : l'orientation reste chez vous jusqu'à sa réponse.",
                )
            return redirect("web:referral-detail", pk=referral.pk)
    picker = build_picker(
        actor,
        field_name="receiver_organisation",
        data=request.POST if request.method == "POST" else request.GET,
        picked=form["receiver_organisation"].value(),
        errors=form.errors.get("receiver_organisation", ()),
        label="Partenaire proposé",
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
    shows_identity = name_shown(actor, referral.pathway, journal=request.method != "POST")
    return render(
        request,
        "web/referrals/transfer.html",
        {
            "referral": referral,
            "shows_identity": shows_identity,
            "form": form,
            "picker": picker,
            "sheet": sheet,
        },
    )


@require_POST
@member_required
def referral_assign(request, pk: int):
    """« Confier à »: hand a received referral to one of the organisation's case workers
    (services/referral_assignment.py, the API's `assign`)."""
    actor = request.actor
    referral = _visible_referral(request, pk, GateAction.REFERRAL_ASSIGN)
    # A party the table refuses (the sender) gets the 403 page before its input is read.
    gate.require(
        actor,
        GateAction.REFERRAL_ASSIGN,
        relations=relations_to_referral(actor, referral),
        subject=Subject("referral", referral.pk, referral.pathway.person_id),
    )
    form = AssignForm(request.POST, actor=actor)
    if not form.is_valid():
        return _referral_page(request, referral, {"assign": form}, status=400)
    assignee = form.cleaned_data["user"]
    try:
        referral_assignment.referral_assign(actor=actor, referral_id=pk, user_id=assignee.pk)
    except NotAllowed:
        raise  # the gate's refusal: the 403 page (member_required)
    except Conflict as error:  # no longer the receiver's to handle: no form to show it on
        messages.error(request, error_sentence(error))
    except INPUT_ERRORS as error:
        apply_domain_error(form, error)
        return _referral_page(request, referral, {"assign": form}, status=400)
    else:
        messages.success(
            request,
            f"Orientation {referral.reference} confiée à "
            f"{referral_assignment.display_name(assignee)}.",
        )
    return redirect("web:referral-detail", pk=pk)


@require_POST
@member_required
def referral_message_post(request, pk: int):
    """A message on the referral's thread, through the same service as the API. A partner the
    gate's table refuses gets the 403 page before its text is looked at; a text refused comes
    back on the referral page with its French error (400), as typed."""
    actor = request.actor
    referral = message_services.referral_for_thread(actor, pk, GateAction.REFERRAL_MESSAGE_POST)
    form = ReferralMessageForm(request.POST)
    if form.is_valid():
        try:
            message_services.referral_message_post(
                actor=actor, referral_id=referral.pk, text=form.cleaned_data["text"]
            )
        except NotAllowed:
            raise  # the gate's refusal: the 403 page (member_required)
        except INPUT_ERRORS as error:
            apply_domain_error(form, error)
        else:
            messages.success(request, "Message envoyé : l'autre organisation en est prévenue.")
            return redirect(reverse("web:referral-detail", args=[referral.pk]) + "#messages")
    return _referral_page(request, referral, {"message": form}, status=400)
