"""Everything held about one person, for their subject-access pack (GDPR art. 15).

`subject_access_data(person_id=…, now=…)` returns one plain dict (strings, numbers, booleans,
lists; dates and times in ISO 8601, local time with offset), versioned by its `format` key. The
pack's PDF and JSON are both made from it (parcours/exports/subject_access.py), so they never
disagree. Keys are English and stable; docs/subject-access.md and the pack's LISEZMOI.txt
describe them in French.

Person-version rules: no staff name anywhere (who acted is the organisation), no internal id
but the record's reference ("P-0000042"), the referrals' references ("OR-0000012", already
quoted to the person) and the pathways' and consents' order numbers.

Bounded: about 25 queries whatever the number of pathways, referrals, events or consents
(prefetches and one query per history table); the person's access report adds its own three.
Scoping (which DPO may produce the pack) is the caller's.
"""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.text import capfirst

from ..categories import (
    PATHWAY_FIELDS,
    PERSON_FIELDS,
    PLAN_ACTION_FIELDS,
    REFERRAL_FIELDS,
    REFERRAL_MESSAGE_FIELDS,
    DataCategory,
    barrier_category,
)
from ..diagnostic_domains import DiagnosticDomain, DiagnosticLevel, domain_category
from ..models import (
    AccessRequest,
    AccessRequestStatus,
    Appointment,
    AppointmentChannel,
    AppointmentOutcome,
    Barrier,
    BarrierKind,
    BarrierStatus,
    BreakGlass,
    CareTeamMember,
    Consent,
    DiagnosticEntry,
    EventKind,
    EvidenceKind,
    ModalityPeriod,
    Objection,
    Objective,
    ObjectiveStatus,
    Pathway,
    PathwayEvent,
    PathwayOutcome,
    PathwayStatus,
    Person,
    PlanAction,
    PlanActionStatus,
    Referral,
    ReferralKind,
    ReferralMessage,
    ReferralOutcome,
    ReferralStatus,
    RefusalReason,
    SupportModality,
)
from ..transitions import Action as Move
from ..transitions import find_move
from .access_reports import person_access_report
from .retention_dates import retention_dates_of

FORMAT = "parcours-subject-access/1"
# The access report in the pack covers the whole journal (what is still kept of it).
ALL_TIME_BEFORE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# Person fields that are the record's own bookkeeping, given under "record", not as data.
RECORD_FIELDS = ("id", "created_at", "updated_at")

CONSENT_CHANGES = {
    "created": "Recueil de l'accord",
    "narrowed": "Restriction de l'accord",
    "modified": "Modification de l'accord",
    "revoked": "Retrait de l'accord",
}
CONSENT_STATES = {
    "in_force": "En vigueur",
    "not_started": "Pas encore en vigueur",
    "ended": "Arrivé à échéance",
    "revoked": "Retiré",
}
# History rows written by one service call (a save, then the organisations set) are one change.
SAME_CHANGE_WITHIN = dt.timedelta(seconds=5)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


def label(choices: Any, code: str | None) -> str:
    """The French label of a choice code ("" for an empty one, the code if unknown)."""
    if not code:
        return ""
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return iso(value)
    return value


def _categories(person: Person) -> list[dict]:
    """The person's own fields, grouped by data category (the API's field → category map)."""
    concrete = {f.name: f for f in Person._meta.concrete_fields}
    by_category: dict[str, list[dict]] = {c: [] for c in DataCategory.values}
    for name, category in PERSON_FIELDS.items():
        if name in concrete and name not in RECORD_FIELDS:
            by_category[category].append(
                {
                    "name": name,
                    "label": capfirst(str(concrete[name].verbose_name)),
                    "value": _json_value(getattr(person, name)),
                }
            )
    return [
        {"code": code, "label": label(DataCategory, code), "fields": by_category[code]}
        for code in DataCategory.values
    ]


def _pathway(pathway: Pathway, number: int) -> dict:
    return {
        "number": number,
        "status": pathway.status,
        "status_label": label(PathwayStatus, pathway.status),
        "opened_at": iso(pathway.opened_at),
        "closed_at": iso(pathway.closed_at),
        "outcome": pathway.outcome,
        "outcome_label": label(PathwayOutcome, pathway.outcome),
        "owner_organisation": pathway.owner_organisation.name,
        "referent_organisation": (
            pathway.referent_organisation.name if pathway.referent_organisation else None
        ),
        "modality": pathway.modality,
        "modality_label": label(SupportModality, pathway.modality),
        "modality_history": [
            {
                "modality": period.modality,
                "modality_label": label(SupportModality, period.modality),
                "started_at": iso(period.started_at),
                "ended_at": iso(period.ended_at),
            }
            for period in pathway.modality_periods.all()
        ],
        "diagnostic_summary": pathway.diagnostic_summary,
        "barriers": [
            {
                "kind": barrier.kind,
                "kind_label": label(BarrierKind, barrier.kind),
                "category": barrier_category(barrier.kind),
                "status": barrier.status,
                "status_label": label(BarrierStatus, barrier.status),
                "detail": barrier.detail,
                "identified_at": iso(barrier.identified_at),
                "resolved_at": iso(barrier.resolved_at),
            }
            for barrier in pathway.barriers.all()
        ],
        # The shared diagnostic: every version of every domain, oldest first (who wrote what).
        "diagnostic": [
            {
                "domain": entry.domain,
                "domain_label": label(DiagnosticDomain, entry.domain),
                "category": domain_category(entry.domain),
                "level": entry.level,
                "level_label": label(DiagnosticLevel, entry.level),
                "text": entry.text,
                "organisation": entry.author_organisation.name,
                "written_at": iso(entry.created_at),
            }
            for entry in pathway.diagnostic.all()
        ],
        # The action plan: its objectives, oldest first, each with its actions by due date —
        # which organisation holds each, by when, where it stands (texts decrypted).
        "action_plan": [
            _objective(objective, number)
            for number, objective in enumerate(pathway.objectives.all(), start=1)
        ],
        "care_team": [
            {
                "organisation": member.organisation.name,
                "started_at": iso(member.started_at),
                "ended_at": iso(member.ended_at),
                "end_reason": member.end_reason,
            }
            for member in pathway.care_team.all()
        ],
    }


def _objective(objective: Objective, number: int) -> dict:
    return {
        "number": number,
        "title": objective.title,
        "status": objective.status,
        "status_label": label(ObjectiveStatus, objective.status),
        "created_at": iso(objective.created_at),
        "created_by_organisation": objective.created_by_organisation.name,
        "closed_at": iso(objective.closed_at),
        "actions": [
            {
                "label": action.label,
                "owner_organisation": action.owner_organisation.name,
                "due_on": iso(action.due_on),
                "status": action.status,
                "status_label": label(PlanActionStatus, action.status),
                "done_at": iso(action.done_at),
                "created_at": iso(action.created_at),
                "created_by_organisation": action.created_by_organisation.name,
            }
            for action in objective.actions.all()
        ],
    }


# A correction of an attendance or an absence, as its history row tells it: the referral's id,
# the state recorded first, the state corrected to, and when.
Correction = tuple[int, str, str, dt.datetime]


def _is_correction(before: str, after: str) -> bool:
    """Whether the referral went from `before` to `after` by a correction of the attendance or
    the absence recorded (the transitions table: no other move joins these two states)."""
    move = find_move(Move.CORRECT_ATTENDANCE, before)
    return move is not None and move.target == after


def _referral_status_history(
    referral_ids: list[int],
) -> tuple[dict[int, list[dict]], list[Correction]]:
    """Each referral's successive statuses, from its history rows (one query), each saying
    whether it corrected the one before; and those corrections."""
    history: dict[int, list[dict]] = defaultdict(list)
    corrections: list[Correction] = []
    rows = (
        Referral.history.filter(id__in=referral_ids)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "status", "history_date")
    )
    for referral_id, status, at in rows:
        moves = history[referral_id]
        if not moves or moves[-1]["status"] != status:
            corrected = bool(moves) and _is_correction(moves[-1]["status"], status)
            if corrected:
                corrections.append((referral_id, moves[-1]["status"], status, at))
            moves.append(
                {
                    "status": status,
                    "status_label": label(ReferralStatus, status),
                    "at": iso(at),
                    "correction": corrected,
                }
            )
    return history, corrections


def _attendance_corrections(
    corrections: list[Correction], events: list[PathwayEvent]
) -> dict[int, list[dict]]:
    """Each correction of an attendance or an absence, with the organisation that made it. A
    history row names a user, never the organisation they acted for: the organisation is the
    one of the timeline event the correction wrote in the same transaction (the referral's move
    to the corrected state, within SAME_CHANGE_WITHIN of the history row)."""
    moved: dict[int, list[PathwayEvent]] = defaultdict(list)
    for each in events:
        if each.referral_id is not None and each.kind == EventKind.REFERRAL_MOVED:
            moved[each.referral_id].append(each)
    found: dict[int, list[dict]] = defaultdict(list)
    for referral_id, before, after, at in corrections:
        candidates = [
            e
            for e in moved[referral_id]
            if e.referral_status == after and abs(e.occurred_at - at) <= SAME_CHANGE_WITHIN
        ]
        event = min(candidates, key=lambda e: abs(e.occurred_at - at), default=None)
        if event is not None:
            moved[referral_id].remove(event)  # one event per correction
        found[referral_id].append(
            {
                "at": iso(at),
                "organisation": (
                    event.organisation.name if event is not None and event.organisation else None
                ),
                "previous_status": before,
                "previous_status_label": label(ReferralStatus, before),
                "corrected_status": after,
                "corrected_status_label": label(ReferralStatus, after),
            }
        )
    return found


def _transferred_from(referral: Referral) -> str | None:
    try:
        return referral.transferred_from.reference
    except Referral.DoesNotExist:
        return None


def _referral(
    referral: Referral, pathway_number: int, status_history: list[dict], corrections: list[dict]
) -> dict:
    return {
        "reference": referral.reference,
        "pathway_number": pathway_number,
        "sender_organisation": referral.sender_organisation.name,
        "receiver_organisation": referral.receiver_organisation.name,
        "receiver_service": referral.receiver_service.name if referral.receiver_service else None,
        "kind": referral.kind,
        "kind_label": label(ReferralKind, referral.kind),
        "reason": referral.reason,
        "context_note": referral.context_note,
        "shared_categories": sorted(referral.shared_categories),
        "status": referral.status,
        "status_label": label(ReferralStatus, referral.status),
        "created_at": iso(referral.created_at),
        "sent_at": iso(referral.sent_at),
        "accepted_at": iso(referral.accepted_at),
        "refused_at": iso(referral.refused_at),
        "refusal_reason": referral.refusal_reason,
        "refusal_reason_label": label(RefusalReason, referral.refusal_reason),
        "refusal_comment": referral.refusal_comment,
        "withdrawn_at": iso(referral.withdrawn_at),
        "expired_at": iso(referral.expired_at),
        "attended_at": iso(referral.attended_at),
        "no_show_at": iso(referral.no_show_at),
        "closed_at": iso(referral.closed_at),
        "outcome": referral.outcome,
        "outcome_label": label(ReferralOutcome, referral.outcome),
        "outcome_comment": referral.outcome_comment,
        # Réorientation: the partner the receiver proposed instead, why, and the referral that
        # followed (or the one this referral follows).
        "transfer_organisation": (
            referral.transfer_organisation.name if referral.transfer_organisation else None
        ),
        "transfer_service": referral.transfer_service.name if referral.transfer_service else None,
        "transfer_reason": referral.transfer_reason,
        "transfer_proposed_at": iso(referral.transfer_proposed_at),
        "transferred_at": iso(referral.transferred_at),
        "transferred_to": referral.transferred_to.reference if referral.transferred_to else None,
        "transferred_from": _transferred_from(referral),
        "status_history": status_history,
        # An attendance or an absence recorded, then corrected by its author (both dates above
        # stay set: the last correction says which one stands).
        "attendance_corrections": corrections,
        "appointments": [
            {
                "starts_at": iso(appointment.starts_at),
                "channel": appointment.channel,
                "channel_label": label(AppointmentChannel, appointment.channel),
                "place": appointment.place,
                "outcome": appointment.outcome,
                "outcome_label": label(AppointmentOutcome, appointment.outcome),
                "outcome_recorded_at": iso(appointment.outcome_recorded_at),
            }
            for appointment in referral.appointments.all()
        ],
        # The messages the two organisations exchanged about the referral (pathway category):
        # the organisation that wrote, never the member (as everywhere in the pack).
        "messages": [
            {
                "at": iso(message.created_at),
                "organisation": message.author_organisation.name,
                "text": message.text,
            }
            for message in referral.messages.all()
        ],
    }


def _event(event: PathwayEvent, pathway_number: int, references: dict[int, str]) -> dict:
    return {
        "occurred_at": iso(event.occurred_at),
        "pathway_number": pathway_number,
        "kind": event.kind,
        "kind_label": label(EventKind, event.kind),
        "category": event.category,
        "organisation": event.organisation.name if event.organisation else None,
        "referral": references.get(event.referral_id) if event.referral_id else None,
        "referral_status": event.referral_status,
        "referral_status_label": label(ReferralStatus, event.referral_status),
        "text": event.text,
    }


def _consent_history(consents: list[Consent]) -> dict[int, list[dict]]:
    """Each consent's changes, from its history rows and their organisations (two queries):
    created, narrowed (or modified), revoked — with the scope after each change.

    One service call writes several history rows (the save, then one per change of the
    organisations, all with the same reason): consecutive rows with the same reason within
    `SAME_CHANGE_WITHIN` are one change, seen in its final state."""
    ids = [c.pk for c in consents]
    rows = (
        Consent.history.filter(id__in=ids)
        .order_by("id", "history_date", "history_id")
        .values(
            "history_id",
            "id",
            "history_date",
            "history_change_reason",
            "categories",
            "organisation_kinds",
            "ends_on",
            "revoked_at",
        )
    )
    through = Consent.history.model.organisations.model  # type: ignore[attr-defined]
    organisations: dict[int, set[str]] = defaultdict(set)
    for history_id, name in through.objects.filter(consent_id__in=ids).values_list(
        "history_id", "organisation__name"
    ):
        organisations[history_id].add(name)

    groups: list[dict] = []  # one per change: consent id, first date, reason, final state
    for row in rows:
        state = {
            "categories": sorted(row["categories"] or []),
            "organisations": sorted(organisations[row["history_id"]]),
            "organisation_kinds": sorted(row["organisation_kinds"] or []),
            "ends_on": iso(row["ends_on"]),
            "revoked": row["revoked_at"] is not None,
        }
        last = groups[-1] if groups else None
        if (
            last is not None
            and last["id"] == row["id"]
            and last["reason"] == row["history_change_reason"]
            and row["history_date"] - last["last_date"] <= SAME_CHANGE_WITHIN
        ):
            last.update(state=state, last_date=row["history_date"])
        else:
            groups.append(
                {
                    "id": row["id"],
                    "at": row["history_date"],
                    "last_date": row["history_date"],
                    "reason": row["history_change_reason"],
                    "state": state,
                }
            )

    changes: dict[int, list[dict]] = defaultdict(list)
    before: dict[int, dict] = {}
    for group in groups:
        state, previous = group["state"], before.get(group["id"])
        before[group["id"]] = state
        if previous is None:
            change = "created"
        elif state["revoked"] and not previous["revoked"]:
            change = "revoked"
        elif state == previous:
            continue  # saved with nothing the person would see changed
        elif _narrower(state, previous):
            change = "narrowed"
        else:
            change = "modified"
        changes[group["id"]].append(
            {
                "at": iso(group["at"]),
                "change": change,
                "change_label": CONSENT_CHANGES[change],
                **{key: value for key, value in state.items() if key != "revoked"},
            }
        )
    return changes


def _narrower(state: dict, before: dict) -> bool:
    ends_earlier = state["ends_on"] is not None and (
        before["ends_on"] is None or state["ends_on"] <= before["ends_on"]
    )
    return (
        set(state["categories"]) <= set(before["categories"])
        and set(state["organisations"]) <= set(before["organisations"])
        and set(state["organisation_kinds"]) <= set(before["organisation_kinds"])
        and (state["ends_on"] == before["ends_on"] or ends_earlier)
    )


def _consent_state(consent: Consent, today: dt.date) -> str:
    if consent.revoked_at is not None:
        return "revoked"
    if consent.starts_on > today:
        return "not_started"
    if consent.ends_on is not None and consent.ends_on < today:
        return "ended"
    return "in_force"


def _consent(consent: Consent, number: int, history: list[dict], today: dt.date) -> dict:
    state = _consent_state(consent, today)
    return {
        "number": number,
        "purpose": consent.purpose,
        "categories": sorted(consent.categories),
        "organisations": sorted(o.name for o in consent.organisations.all()),
        "organisation_kinds": sorted(consent.organisation_kinds),
        "starts_on": iso(consent.starts_on),
        "ends_on": iso(consent.ends_on),
        "evidence_kind": consent.evidence_kind,
        "evidence_kind_label": label(EvidenceKind, consent.evidence_kind),
        "collected_by_organisation": consent.collected_by_organisation.name,
        "recorded_at": iso(consent.created_at),
        "revoked_at": iso(consent.revoked_at),
        "state": state,
        "state_label": CONSENT_STATES[state],
        "history": history,
    }


def _access_report(person_id: int, now: dt.datetime) -> dict:
    report = person_access_report(
        person_id=person_id, start=ALL_TIME_BEFORE, end=now, version="person"
    )
    return {
        "version": report.version,
        "period": {"from": None, "to": iso(now)},
        "rows": [
            {
                "occurred_at": iso(row.occurred_at),
                "organisation": row.organisation,
                "by": row.user,
                "operation": row.operation,
                "record": row.record,
                "categories": row.categories,
                "purpose": row.purpose,
                "basis": row.basis,
            }
            for row in report.rows
        ],
        "totals_by_organisation": [
            {"organisation": organisation, "count": count}
            for organisation, count in report.totals_by_organisation.items()
        ],
    }


def _retention(person_id: int, now: dt.datetime) -> dict:
    dates = retention_dates_of(person_id=person_id, now=now)
    return {key: _json_value(value) for key, value in dates.items()}


def _other_records(
    code: str, pathways: list[dict], referrals: list[dict], timeline: list[dict]
) -> dict[str, int]:
    """Where else data of a category is held, counted (the details are in their sections)."""
    return {
        "diagnostic_summaries": sum(
            1
            for p in pathways
            if p["diagnostic_summary"] and PATHWAY_FIELDS["diagnostic_summary"] == code
        ),
        "barriers": sum(1 for p in pathways for b in p["barriers"] if b["category"] == code),
        "diagnostic_versions": sum(
            1 for p in pathways for v in p["diagnostic"] if v["category"] == code
        ),
        "plan_objectives": sum(
            len(p["action_plan"]) for p in pathways if PLAN_ACTION_FIELDS["label"] == code
        ),
        "plan_actions": sum(
            len(o["actions"])
            for p in pathways
            for o in p["action_plan"]
            if PLAN_ACTION_FIELDS["label"] == code
        ),
        "referral_context_notes": sum(
            1 for r in referrals if r["context_note"] and REFERRAL_FIELDS["context_note"] == code
        ),
        "referral_messages": sum(
            len(r["messages"]) for r in referrals if REFERRAL_MESSAGE_FIELDS["text"] == code
        ),
        "timeline_events": sum(1 for e in timeline if e["category"] == code),
    }


def subject_access_data(*, person_id: int, now: dt.datetime) -> dict:
    """Everything held about the person, as of `now` (raises Person.DoesNotExist)."""
    person = Person.objects.get(pk=person_id)
    pathways = list(
        Pathway.objects.filter(person_id=person_id)
        .select_related("owner_organisation", "referent_organisation")
        .prefetch_related(
            Prefetch("modality_periods", ModalityPeriod.objects.order_by("started_at", "id")),
            Prefetch("barriers", Barrier.objects.order_by("identified_at", "kind")),
            Prefetch(
                "diagnostic",
                DiagnosticEntry.objects.select_related("author_organisation").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch(
                "objectives",
                Objective.objects.select_related("created_by_organisation")
                .prefetch_related(
                    Prefetch(
                        "actions",
                        PlanAction.objects.select_related(
                            "owner_organisation", "created_by_organisation"
                        ).order_by("due_on", "id"),
                    )
                )
                .order_by("created_at", "id"),
            ),
            Prefetch(
                "care_team",
                CareTeamMember.objects.select_related("organisation").order_by("started_at"),
            ),
        )
        .order_by("opened_at", "id")
    )
    numbers = {p.pk: n for n, p in enumerate(pathways, start=1)}
    referrals = list(
        Referral.objects.filter(pathway__person_id=person_id)
        .select_related(
            "sender_organisation",
            "receiver_organisation",
            "receiver_service",
            "transfer_organisation",
            "transfer_service",
            "transferred_to",
            "transferred_from",
        )
        .prefetch_related(
            Prefetch("appointments", Appointment.objects.order_by("starts_at", "id")),
            Prefetch(
                "messages",
                ReferralMessage.objects.select_related("author_organisation").order_by(
                    "created_at", "id"
                ),
            ),
        )
        .order_by("created_at", "id")
    )
    references = {r.pk: r.reference for r in referrals}
    status_history, corrections = _referral_status_history(list(references))
    events = list(
        PathwayEvent.objects.filter(pathway__person_id=person_id)
        .select_related("organisation")
        .order_by("occurred_at", "id")
    )
    attendance_corrections = _attendance_corrections(corrections, events)
    consents = list(
        Consent.objects.filter(person_id=person_id)
        .select_related("collected_by_organisation")
        .prefetch_related("organisations")
        .order_by("created_at", "id")
    )
    consent_history = _consent_history(consents)
    today = timezone.localdate(now)

    pathway_data = [_pathway(p, numbers[p.pk]) for p in pathways]
    referral_data = [
        _referral(
            r,
            numbers[r.pathway_id],
            status_history.get(r.pk, []),
            attendance_corrections.get(r.pk, []),
        )
        for r in referrals
    ]
    timeline = [_event(e, numbers[e.pathway_id], references) for e in events]
    categories = _categories(person)
    for category in categories:
        category["other_records"] = _other_records(
            category["code"], pathway_data, referral_data, timeline
        )
    data: dict[str, Any] = {
        "format": FORMAT,
        "generated_at": iso(now),
        "reference": person.reference,
        "record": {
            "reference": person.reference,
            "created_at": iso(person.created_at),
            "updated_at": iso(person.updated_at),
        },
        "category_labels": {code: label(DataCategory, code) for code in DataCategory.values},
        "categories": categories,
        "pathways": pathway_data,
        "referrals": referral_data,
        "timeline": timeline,
        "consents": [
            _consent(c, n, consent_history.get(c.pk, []), today)
            for n, c in enumerate(consents, start=1)
        ],
        "objections": [
            {
                "recorded_at": iso(o.recorded_at),
                "reason": o.reason,
                "withdrawn_at": iso(o.withdrawn_at),
                "active": o.withdrawn_at is None,
            }
            for o in Objection.objects.filter(person_id=person_id).order_by("recorded_at")
        ],
        "access_requests": [
            {
                "created_at": iso(r.created_at),
                "requesting_organisation": r.requesting_organisation.name,
                "reason": r.reason,
                "status": r.status,
                "status_label": label(AccessRequestStatus, r.status),
                "decided_at": iso(r.decided_at),
                "decision_comment": r.decision_comment,
            }
            for r in AccessRequest.objects.filter(pathway__person_id=person_id)
            .select_related("requesting_organisation")
            .order_by("created_at", "id")
        ],
        "break_glass": [
            {
                "organisation": b.organisation.name,
                "category": b.category,
                "reason": b.reason,
                "starts_at": iso(b.starts_at),
                "ends_at": iso(b.ends_at),
            }
            for b in BreakGlass.objects.filter(pathway__person_id=person_id)
            .select_related("organisation")
            .order_by("starts_at", "id")
        ],
        "access_report": _access_report(person_id, now),
        "retention": _retention(person_id, now),
    }
    data["counts"] = {
        "pathways": len(data["pathways"]),
        "referrals": len(data["referrals"]),
        "appointments": sum(len(r["appointments"]) for r in data["referrals"]),
        "attendance_corrections": sum(len(r["attendance_corrections"]) for r in data["referrals"]),
        "referral_messages": sum(len(r["messages"]) for r in data["referrals"]),
        "plan_objectives": sum(len(p["action_plan"]) for p in data["pathways"]),
        "plan_actions": sum(len(o["actions"]) for p in data["pathways"] for o in p["action_plan"]),
        "timeline_events": len(data["timeline"]),
        "consents": len(data["consents"]),
        "consent_changes": sum(len(c["history"]) for c in data["consents"]),
        "objections": len(data["objections"]),
        "access_requests": len(data["access_requests"]),
        "break_glass": len(data["break_glass"]),
        "access_rows": len(data["access_report"]["rows"]),
    }
    return data
