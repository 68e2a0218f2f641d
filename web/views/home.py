"""« À traiter »: what is waiting for the user and their organisation, each one click away.

Each block shows the first rows of one work list (parcours/selectors/worklists.py, the alerts'
in notifications.selectors) and its total — a COUNT over the same queryset, never the length of
the cut list; the alerts' up to a hundred, as the header's badge — with a « voir tout » link
to the full, paginated list built from that queryset: a counter always equals the total of the
list it opens (or says « plus de 99 »)."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.utils import timezone

from notifications.answers import ANSWER_LINE_RELATED, answer_line
from notifications.selectors import (
    answers_visible_to,
    open_alerts_badge_bounded,
    open_alerts_newest,
)
from parcours import access
from parcours.api.actor import SESSION_KEY
from parcours.gate import Action
from parcours.gate.journal import record_list_of
from parcours.models import AccessRequestStatus
from parcours.selectors import worklists
from parcours.selectors.sent_referrals import with_latest_answer

from ..actor import member_required
from ..listing import naming_persons
from .referrals import SHOWN_IN_LISTS

LIMIT = 20


@dataclass(frozen=True)
class Block:
    """The first rows of a work list and its total (`count` ≥ `len(rows)`); `more`: the list
    holds more than `count` (a total counted up to a bound, said « plus de … »)."""

    rows: list
    count: int
    more: bool = False


def _block(queryset: QuerySet) -> Block:
    return Block(rows=list(queryset[:LIMIT]), count=queryset.count())


@member_required
def home(request):
    actor = request.actor
    if SESSION_KEY not in request.session and access.memberships_of(actor).count() > 1:
        # Several organisations: the user says which one they act for before anything else.
        return redirect("web:acting-organisation")
    if access.can_read_dpo_reports(actor):
        return redirect("web:dpo-home")  # a DPO's work is the reports, never the records
    if access.can_read_territory(actor):
        return redirect("web:statistics")  # a coordinator's: the territory's figures
    now = timezone.now()
    to_answer = _block(
        naming_persons(worklists.to_answer(actor), "pathway").select_related("sender_organisation")
    )
    awaiting_outcome = _block(
        naming_persons(worklists.awaiting_outcome(actor, now=now), "pathway").select_related(
            "sender_organisation"
        )
    )
    # Counted up to a hundred, once for the block and the header's badge (the same list):
    # « plus de 99 » beyond, as the badge's « 99+ ».
    alerts_counted = open_alerts_badge_bounded(actor)
    alerts = Block(
        rows=open_alerts_newest(
            actor,
            0,
            LIMIT,
            lambda rows: rows.select_related(
                "referral__receiver_organisation", "referral__sender_organisation"
            ),
        ),
        count=alerts_counted.shown,
        more=alerts_counted.more,
    )
    caseload = _block(naming_persons(worklists.caseload(actor), ""))
    # Actions of people's plans the organisation holds and let pass their due date.
    overdue = _block(worklists.overdue_actions(actor))
    # Referrals the user sent whose receiver's answer needs them (refused, no-show…).
    sent = _block(
        with_latest_answer(
            worklists.sent_to_look_at(actor).select_related(
                "pathway__person", "receiver_organisation"
            )
        )
    )
    # The receivers' answers to the referrals the user sent, not yet marked seen (issue 14).
    answers = _block(
        answers_visible_to(actor)
        .filter(seen_at__isnull=True)
        .select_related(*ANSWER_LINE_RELATED, "referral__pathway__person")
        .order_by("-created_at", "-id")
    )
    # Every referral the page shows, in whichever block (one journal row for them all; each
    # answer names the person when the organisation sees their identity).
    answered = [n.referral for n in answers.rows]
    referrals = list(dict.fromkeys(to_answer.rows + awaiting_outcome.rows + sent.rows + answered))
    pathway_ids = {r.pathway_id for r in referrals} | {p.pk for p in caseload.rows}
    pathway_ids |= {a.pathway_id for a in overdue.rows}
    grants = access.grants_for(actor, pathway_ids)
    visible = {pid: held.categories for pid, held in grants.items()}
    # Each row shows a person's name and where their referral or pathway stands.
    record_list_of(
        actor,
        Action.REFERRAL_LIST,
        object_type="referral",
        items=[(r.pk, [r.pathway_id]) for r in referrals],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    record_list_of(
        actor,
        Action.PATHWAY_LIST,
        object_type="pathway",
        items=[(p.pk, [p.pk]) for p in caseload.rows],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    record_list_of(
        actor,
        Action.PLAN_ACTION_LIST,
        object_type="plan_action",
        items=[(a.pk, [a.pathway_id]) for a in overdue.rows],
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
            "overdue": overdue,
            "sent": sent,
            # Requests to join the organisation's records, waiting for its answer.
            "access_requests_pending": access.access_requests_received_by(actor)
            .filter(status=AccessRequestStatus.PENDING)
            .count(),
            "visible": visible,
            "now": now,
            "answers": [(notice, answer_line(notice)) for notice in answers.rows],
            "answers_count": answers.count,
        },
    )
