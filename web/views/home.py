"""« À traiter »: what is waiting for the user and their organisation, each one click away."""

from django.shortcuts import redirect, render
from django.utils import timezone

from notifications.models import AlertState
from notifications.selectors import alerts_visible_to
from parcours import access
from parcours.api.actor import SESSION_KEY
from parcours.categories import DataCategory
from parcours.gate import Action
from parcours.gate.journal import record_list_of
from parcours.models import (
    AccessRequestStatus,
    AppointmentOutcome,
    PathwayStatus,
    ReferralStatus,
)
from parcours.selectors.action_plan import overdue_actions_for

from ..actor import member_required
from .referrals import SHOWN_IN_LISTS

LIMIT = 20


@member_required
def home(request):
    actor = request.actor
    if SESSION_KEY not in request.session and access.memberships_of(actor).count() > 1:
        # Several organisations: the user says which one they act for before anything else.
        return redirect("web:acting-organisation")
    if access.can_read_dpo_reports(actor):
        return redirect("web:dpo-home")  # a DPO's work is the reports, never the records
    now = timezone.now()
    received = access.referrals_visible_to(actor).filter(receiver_organisation=actor.organisation)
    to_answer = list(
        received.filter(status=ReferralStatus.SENT)
        .select_related("pathway__person", "sender_organisation")
        .order_by("acknowledge_due_at", "id")[:LIMIT]
    )
    awaiting_outcome = list(
        received.filter(
            status=ReferralStatus.APPOINTMENT_SET,
            appointments__outcome=AppointmentOutcome.PENDING,
            appointments__starts_at__lt=now,
        )
        .select_related("pathway__person", "sender_organisation")
        .order_by("appointments__starts_at")[:LIMIT]
    )
    alerts = list(
        alerts_visible_to(actor)
        .exclude(state=AlertState.RESOLVED)
        .select_related("referral__receiver_organisation", "referral__sender_organisation")
        .order_by("-created_at", "-id")[:LIMIT]
    )
    caseload_qs = access.pathways_visible_to(actor, DataCategory.PATHWAY).filter(
        referent=actor.user, status=PathwayStatus.OPEN
    )
    caseload = list(caseload_qs.select_related("person").order_by("-opened_at", "-id")[:LIMIT])
    # Actions of people's plans the organisation holds and let pass their due date.
    overdue_qs = overdue_actions_for(actor)
    overdue = list(overdue_qs[:LIMIT])
    pathway_ids = {r.pathway_id for r in to_answer + awaiting_outcome} | {p.pk for p in caseload}
    pathway_ids |= {a.pathway_id for a in overdue}
    grants = access.grants_for(actor, pathway_ids)
    visible = {pid: held.categories for pid, held in grants.items()}
    # Each row shows a person's name and where their referral or pathway stands.
    record_list_of(
        actor,
        Action.REFERRAL_LIST,
        object_type="referral",
        items=[(r.pk, [r.pathway_id]) for r in dict.fromkeys(to_answer + awaiting_outcome)],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    record_list_of(
        actor,
        Action.PATHWAY_LIST,
        object_type="pathway",
        items=[(p.pk, [p.pk]) for p in caseload],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    record_list_of(
        actor,
        Action.PLAN_ACTION_LIST,
        object_type="plan_action",
        items=[(a.pk, [a.pathway_id]) for a in overdue],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    return render(
        request,
        "web/home.html",
        {
            "to_answer": to_answer,
            "awaiting_outcome": awaiting_outcome,
            "alerts": alerts,
            "caseload": caseload,
            "caseload_count": caseload_qs.count(),
            # Requests to join the organisation's records, waiting for its answer.
            "access_requests_pending": access.access_requests_received_by(actor)
            .filter(status=AccessRequestStatus.PENDING)
            .count(),
            "overdue": overdue,
            "overdue_count": len(overdue) if len(overdue) < LIMIT else overdue_qs.count(),
            "visible": visible,
            "now": now,
        },
    )
