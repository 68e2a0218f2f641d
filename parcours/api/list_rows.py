"""The API's long lists written without DRF's per-field serialization (issue 17).

`GET /api/v1/pathways/`, `/api/v1/referrals/` (received, sent, whatever the filters) and
`/api/v1/persons/` answer pages of 50 rows, the lists a partner's system polls. Through the
serializers every value of every row goes through its own `Field` (`get_attribute`,
`to_representation`, the nested serializers' copies): most of the 60,000–120,000 function calls
of such a page. These functions write the same rows directly: the same keys in the same order,
the same value types (ids and counts as integers, choices as their stored value, dates as
ISO 8601 text in the request's time zone as `ServedDateTimeField` writes them), the same nested
objects, the same per-actor values (the categories seen, the actions available) and the same
redaction (`redaction.redact`).

The serializers stay the description of these answers (drf-spectacular reads them, the OpenAPI
document does not change) and still write the details and the writes' answers; what a row shows
is decided once, in the helpers below that both use. tests/api/test_list_rows.py holds each
writer equal to its serializer, JSON text included, for every role and for redacted rows.
"""

import datetime as dt
from collections.abc import Iterable, Mapping

from django.utils import timezone

from ..actor import Actor
from ..categories import (
    PATHWAY_FIELDS,
    PERSON_FIELDS,
    REFERRAL_FIELDS,
    DataCategory,
    barrier_category,
)
from ..models import PathwayStatus
from ..services.person import PERSON_EDITABLE_FIELDS
from ..services.referral import moves_offered
from .redaction import DEFAULT_CATEGORY, redact

# --- What both the serializers and the writers show ---------------------------------------------


def person_ref(person) -> dict:
    """A pathway's or a referral's person: the id and the name, nothing else."""
    return {"id": person.pk, "first_name": person.first_name, "last_name": person.last_name}


def person_pathway_ids(person) -> list[int]:
    """The pathways a person's row belongs to (its categories are theirs): prefetched by the
    API's scope (`all_pathways`), else read."""
    prefetched = getattr(person, "all_pathways", None)
    if prefetched is not None:
        return [p.pk for p in prefetched]
    return list(person.pathways.values_list("pk", flat=True))


def open_pathway_of(person) -> int | None:
    pathways = getattr(person, "all_pathways", None)
    if pathways is None:
        pathways = list(person.pathways.only("pk", "status"))
    return next((p.pk for p in pathways if p.status == PathwayStatus.OPEN), None)


def available_actions(actor: Actor | None, referral) -> list[str]:
    """What the acting organisation may do next, read from the transitions table (a
    correction: only for its author, within the delay)."""
    return [str(a) for a in moves_offered(actor, referral)] if actor else []


# --- Values as DRF's fields write them ----------------------------------------------------------


def moment(value: dt.datetime | None, zone: dt.tzinfo | None) -> str | None:
    """A date and time as `ServedDateTimeField` (DRF's `DateTimeField`) writes it: in `zone`
    (the request's current time zone, asked once per page), ISO 8601, UTC written `Z`."""
    if value is None:
        return None
    aware = value.utcoffset() is not None
    if zone is None:  # USE_TZ off: DRF writes naive times
        value = timezone.make_naive(value, dt.UTC) if aware else value
    else:
        value = value.astimezone(zone) if aware else timezone.make_aware(value, zone)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def organisation_ref(organisation) -> dict | None:
    """`OrganisationRefSerializer`'s row."""
    if organisation is None:
        return None
    return {"id": organisation.pk, "name": organisation.name, "kind": organisation.kind}


def user_ref(user) -> dict | None:
    """`UserRefSerializer`'s row."""
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "full_name": user.get_full_name()}


class Redaction:
    """`redact` for the rows of one writer, skipped for the rows whose actor sees every category
    their fields belong to (most of a page): the same dict either way."""

    def __init__(self, field_categories: Mapping[str, str], keys: Iterable[str]):
        self.field_categories = field_categories
        self.needed = frozenset(field_categories.get(k, DEFAULT_CATEGORY) for k in keys)

    def __call__(self, row: dict, visible: frozenset[str]) -> dict:
        if self.needed <= visible:
            row["categories"] = sorted(visible)
            return row
        return redact(row, visible, self.field_categories)


def me_row(actor: Actor, memberships: Iterable) -> dict:
    """`MeSerializer`'s answer to `/api/v1/me/`: the account, its active memberships (each
    with its organisation's reference) and the organisation and role it acts as."""
    user = actor.account
    return {
        "id": user.pk,
        "username": user.get_username(),
        "full_name": user.get_full_name(),
        "email": user.email,
        "memberships": [
            {"id": m.pk, "organisation": organisation_ref(m.organisation), "role": m.role}
            for m in memberships
        ],
        "acting_organisation": organisation_ref(actor.organisation),
        "acting_role": actor.role,
    }


# --- The three lists --------------------------------------------------------------------------


PATHWAY_KEYS = (
    "id",
    "person",
    "status",
    "owner_organisation",
    "referent",
    "referent_organisation",
    "modality",
    "outcome",
    "opened_at",
    "closed_at",
    "last_contact_at",
    "archived_at",
    "updated_at",
    "categories",
)
_pathway_redaction = Redaction(PATHWAY_FIELDS, PATHWAY_KEYS)


def _pathway_row(p, zone: dt.tzinfo) -> dict:
    return {
        "id": p.pk,
        "person": person_ref(p.person),
        "status": p.status,
        "owner_organisation": organisation_ref(p.owner_organisation),
        "referent": user_ref(p.referent),
        "referent_organisation": organisation_ref(p.referent_organisation),
        "modality": p.modality,
        "outcome": p.outcome,
        "opened_at": moment(p.opened_at, zone),
        "closed_at": moment(p.closed_at, zone),
        "last_contact_at": moment(p.last_contact_at, zone),
        "archived_at": moment(p.archived_at, zone),
        "updated_at": moment(p.updated_at, zone),
        "categories": [],
    }


def pathway_rows(pathways: Iterable, context: Mapping) -> list[dict]:
    """`PathwaySerializer(pathways, many=True, context=context).data`, written directly."""
    visible_of = context["visible_categories"].of
    zone = timezone.get_current_timezone()
    return [_pathway_redaction(_pathway_row(p, zone), visible_of([p.pk])) for p in pathways]


PATHWAY_DETAIL_KEYS = (*PATHWAY_KEYS, "diagnostic_summary", "modality_periods", "barriers")
_pathway_detail_redaction = Redaction(PATHWAY_FIELDS, PATHWAY_DETAIL_KEYS)


def barriers_seen(barriers: list[dict], visible: frozenset[str]) -> list[dict]:
    """The barriers a pathway's detail shows: health-related ones to those who see health."""
    if DataCategory.HEALTH in visible:
        return barriers
    return [b for b in barriers if barrier_category(b["kind"]) in visible]


def pathway_detail_row(pathway, context: Mapping) -> dict:
    """`PathwayDetailSerializer(pathway, context=context).data`, written directly: the list's
    row, then the diagnostic's summary, the modality's periods and the barriers (prefetched)."""
    zone = timezone.get_current_timezone()
    row = _pathway_row(pathway, zone)
    row["diagnostic_summary"] = pathway.diagnostic_summary
    row["modality_periods"] = [
        {
            "modality": m.modality,
            "started_at": moment(m.started_at, zone),
            "ended_at": moment(m.ended_at, zone),
        }
        for m in pathway.modality_periods.all()
    ]
    row["barriers"] = [
        {
            "id": b.pk,
            "kind": b.kind,
            "status": b.status,
            "detail": b.detail,
            "identified_at": moment(b.identified_at, zone),
            "resolved_at": moment(b.resolved_at, zone),
        }
        for b in pathway.barriers.all()
    ]
    visible = context["visible_categories"].of([pathway.pk])
    row = _pathway_detail_redaction(row, visible)
    if "barriers" in row:
        row["barriers"] = barriers_seen(row["barriers"], visible)
    return row


REFERRAL_KEYS = (
    "id",
    "reference",
    "pathway",
    "person",
    "sender_organisation",
    "sender_user",
    "receiver_organisation",
    "receiver_service",
    "kind",
    "reason",
    "context_note",
    "shared_categories",
    "status",
    "created_at",
    "sent_at",
    "acknowledge_due_at",
    "accepted_at",
    "first_appointment_due_at",
    "refused_at",
    "refusal_reason",
    "refusal_comment",
    "withdrawn_at",
    "expired_at",
    "attended_at",
    "no_show_at",
    "closed_at",
    "outcome",
    "outcome_comment",
    "transfer_organisation",
    "transfer_service",
    "transfer_reason",
    "transfer_proposed_at",
    "transferred_at",
    "transferred_to",
    "transferred_from",
    "assigned_user",
    "updated_at",
    "available_actions",
    "unread_messages",
    "categories",
)
_referral_redaction = Redaction(REFERRAL_FIELDS, REFERRAL_KEYS)


def referral_rows(referrals: Iterable, context: Mapping) -> list[dict]:
    """`ReferralSerializer(referrals, many=True, context=context).data`, written directly. The
    referrals come from the API's queryset (`served_referrals`, `with_unread_messages`): the
    id of the referral a transfer replaced and the unread count are its annotations."""
    visible_of = context["visible_categories"].of
    actor = context.get("actor")
    zone = timezone.get_current_timezone()
    rows = []
    for r in referrals:
        transferred_from = getattr(r, "transferred_from_pk", None)
        row = {
            "id": r.pk,
            "reference": r.reference,
            "pathway": r.pathway_id,
            "person": person_ref(r.pathway.person),
            "sender_organisation": organisation_ref(r.sender_organisation),
            "sender_user": user_ref(r.sender_user),
            "receiver_organisation": organisation_ref(r.receiver_organisation),
            "receiver_service": r.receiver_service_id,
            "kind": r.kind,
            "reason": r.reason,
            "context_note": r.context_note,
            "shared_categories": r.shared_categories,
            "status": r.status,
            "created_at": moment(r.created_at, zone),
            "sent_at": moment(r.sent_at, zone),
            "acknowledge_due_at": moment(r.acknowledge_due_at, zone),
            "accepted_at": moment(r.accepted_at, zone),
            "first_appointment_due_at": moment(r.first_appointment_due_at, zone),
            "refused_at": moment(r.refused_at, zone),
            "refusal_reason": r.refusal_reason,
            "refusal_comment": r.refusal_comment,
            "withdrawn_at": moment(r.withdrawn_at, zone),
            "expired_at": moment(r.expired_at, zone),
            "attended_at": moment(r.attended_at, zone),
            "no_show_at": moment(r.no_show_at, zone),
            "closed_at": moment(r.closed_at, zone),
            "outcome": r.outcome,
            "outcome_comment": r.outcome_comment,
            "transfer_organisation": organisation_ref(r.transfer_organisation),
            "transfer_service": r.transfer_service_id,
            "transfer_reason": r.transfer_reason,
            "transfer_proposed_at": moment(r.transfer_proposed_at, zone),
            "transferred_at": moment(r.transferred_at, zone),
            "transferred_to": r.transferred_to_id,
            "transferred_from": None if transferred_from is None else int(transferred_from),
            "assigned_user": user_ref(r.assigned_user),
            "updated_at": moment(r.updated_at, zone),
            "available_actions": available_actions(actor, r),
            "unread_messages": getattr(r, "unread_messages", None),
            "categories": [],
        }
        rows.append(_referral_redaction(row, visible_of([r.pathway_id])))
    return rows


PERSON_KEYS = (
    "id",
    *PERSON_EDITABLE_FIELDS,
    "under_26",
    "over_55",
    "open_pathway",
    "created_at",
    "updated_at",
    "categories",
)
_person_redaction = Redaction(PERSON_FIELDS, PERSON_KEYS)


def person_rows(persons: Iterable, context: Mapping) -> list[dict]:
    """`PersonSerializer(persons, many=True, context=context).data`, written directly. The
    ages are `Person.under_26` / `over_55` on one reading of today for the page."""
    visible_of = context["visible_categories"].of
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    rows = []
    for p in persons:
        row = {
            "id": p.pk,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "birth_date": day(p.birth_date),
            "email": p.email,
            "phone": p.phone,
            "address": p.address,
            "postal_code": p.postal_code,
            "city": p.city,
            "france_travail_id": p.france_travail_id,
            "nir": p.nir,
            "receives_rsa": p.receives_rsa,
            "receives_ass": p.receives_ass,
            "rights_ending": p.rights_ending,
            "rights_end_date": day(p.rights_end_date),
            "rqth": p.rqth,
            "court_supervision": p.court_supervision,
            "lives_in_qpv": p.lives_in_qpv,
            "under_26": p.under_26_on(today),
            "over_55": p.over_55_on(today),
            "open_pathway": open_pathway_of(p),
            "created_at": moment(p.created_at, zone),
            "updated_at": moment(p.updated_at, zone),
            "categories": [],
        }
        rows.append(_person_redaction(row, visible_of(person_pathway_ids(p))))
    return rows
