"""A referral event as the partner's system receives it: a Standard Webhooks envelope whose
`data` is a FHIR R4 `Task` (the referral's workflow) with its `focus`, the referral as a
contained `ServiceRequest`, and the person as a contained `Patient` (docs/guide-integration-
partenaires.md).

What it carries is decided by the receiving organisation's own grants on the pathway, the same
rows that decide what its members read (parcours.access.organisation_bases): the person's
name and birth date only with `identity`; the referral's kind, reason, appointment, refusal
reason and outcome only with `pathway`. No other free text (context note, comments) ever leaves
by this door: they belong to categories the receiving system's role cannot be known to read.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from .. import access
from ..categories import DataCategory
from ..models import Organisation, Referral, ReferralStatus

# The only categories a message ever carries (what _task reads).
CARRIED = frozenset({DataCategory.IDENTITY, DataCategory.PATHWAY})
CODE_SYSTEM = "urn:parcours:fhir:CodeSystem"
REFERRAL_IDENTIFIER = "urn:parcours:referral"
PERSON_IDENTIFIER = "urn:parcours:person"
SIRET_IDENTIFIER = "urn:parcours:siret"

# The referral's state as a FHIR Task status (its own state goes in businessStatus).
TASK_STATUS: dict[str, str] = {
    ReferralStatus.DRAFT: "draft",
    ReferralStatus.SENT: "requested",
    ReferralStatus.ACCEPTED: "accepted",
    ReferralStatus.REFUSED: "rejected",
    ReferralStatus.WITHDRAWN: "cancelled",
    ReferralStatus.EXPIRED: "failed",
    ReferralStatus.APPOINTMENT_SET: "in-progress",
    ReferralStatus.ATTENDED: "in-progress",
    ReferralStatus.NO_SHOW: "on-hold",
    ReferralStatus.CLOSED: "completed",
    ReferralStatus.TRANSFER_PROPOSED: "on-hold",
    ReferralStatus.TRANSFERRED: "cancelled",
}
SERVICE_REQUEST_STATUS: dict[str, str] = {
    ReferralStatus.DRAFT: "draft",
    ReferralStatus.CLOSED: "completed",
    ReferralStatus.REFUSED: "revoked",
    ReferralStatus.WITHDRAWN: "revoked",
    ReferralStatus.EXPIRED: "revoked",
    ReferralStatus.TRANSFERRED: "revoked",
}


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _concept(kind: str, code: str, display: str) -> dict:
    return {
        "coding": [{"system": f"{CODE_SYSTEM}/{kind}", "code": code, "display": display}],
        "text": display,
    }


def _organisation(organisation: Organisation) -> dict:
    return {
        "identifier": {"system": SIRET_IDENTIFIER, "value": organisation.siret},
        "display": organisation.name,
    }


def _patient(referral: Referral, categories: frozenset[str]) -> dict:
    patient: dict = {"resourceType": "Patient", "id": "person"}
    if DataCategory.IDENTITY in categories:
        person = referral.pathway.person
        patient["identifier"] = [{"system": PERSON_IDENTIFIER, "value": str(person.pk)}]
        patient["name"] = [{"family": person.last_name, "given": [person.first_name]}]
        if person.birth_date:
            patient["birthDate"] = person.birth_date.isoformat()
    return patient


def _service_request(referral: Referral, categories: frozenset[str]) -> dict:
    request: dict = {
        "resourceType": "ServiceRequest",
        "id": "referral",
        "identifier": [{"system": REFERRAL_IDENTIFIER, "value": referral.reference}],
        "status": SERVICE_REQUEST_STATUS.get(referral.status, "active"),
        "intent": "order",
        "subject": {"reference": "#person"},
        "requester": _organisation(referral.sender_organisation),
        "performer": [_organisation(referral.receiver_organisation)],
    }
    if referral.sent_at:
        request["authoredOn"] = _iso(referral.sent_at)
    if DataCategory.PATHWAY in categories:
        request["category"] = [
            _concept("referral-kind", referral.kind, str(referral.get_kind_display()))
        ]
        if referral.reason:
            request["reasonCode"] = [{"text": referral.reason}]
    return request


def _task(referral: Referral, categories: frozenset[str], *, now: dt.datetime) -> dict:
    status = ReferralStatus(referral.status)
    task: dict = {
        "resourceType": "Task",
        "id": f"referral-{referral.pk}",
        "contained": [_service_request(referral, categories), _patient(referral, categories)],
        "identifier": [{"system": REFERRAL_IDENTIFIER, "value": referral.reference}],
        "status": TASK_STATUS[status],
        "businessStatus": _concept("referral-status", status.value, str(status.label)),
        "intent": "order",
        "focus": {"reference": "#referral"},
        "for": {"reference": "#person"},
        "requester": _organisation(referral.sender_organisation),
        "owner": _organisation(referral.receiver_organisation),
        "lastModified": _iso(now),
    }
    if referral.sent_at:
        task["authoredOn"] = _iso(referral.sent_at)
    if DataCategory.PATHWAY not in categories:
        return task
    if referral.refusal_reason:
        task["statusReason"] = _concept(
            "refusal-reason", referral.refusal_reason, str(referral.get_refusal_reason_display())
        )
    appointment = referral.appointments.order_by("-starts_at", "-id").first()
    if appointment is not None:
        task["executionPeriod"] = {"start": _iso(appointment.starts_at)}
    if referral.outcome:
        task["output"] = [
            {
                "type": {"text": "Retour d'information"},
                "valueCodeableConcept": _concept(
                    "referral-outcome", referral.outcome, str(referral.get_outcome_display())
                ),
            }
        ]
    return task


@dataclass(frozen=True)
class WebhookBody:
    """The message for one organisation: its text, and what it carries under which bases (the
    journal's export row)."""

    text: str
    categories: frozenset[str]
    basis: frozenset[str]


def webhook_body(
    *, referral: Referral, organisation: Organisation, event_type: str, now: dt.datetime
) -> WebhookBody | None:
    """The exact bytes (as text) sent to `organisation`'s systems, or None when it sees nothing
    of the pathway's referrals any more (no message then)."""
    bases = access.organisation_bases(organisation, referral.pathway_id)
    categories = frozenset(bases)
    if DataCategory.PATHWAY not in categories:
        return None
    envelope = {
        "type": event_type,
        "timestamp": _iso(now),
        "data": _task(referral, categories, now=now),
    }
    shown = categories & CARRIED
    return WebhookBody(
        text=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")),
        categories=shown,
        basis=frozenset(code for category in shown for code in bases[category]),
    )
