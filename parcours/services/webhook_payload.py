"""An event as the partner's system receives it: a Standard Webhooks envelope whose `data` is
FHIR R4 (docs/guide-integration-partenaires.md):

- a referral event: a `Task` (the referral's workflow) with its `focus`, the referral as a
  contained `ServiceRequest`, and the person as a contained `Patient`;
- a pathway event (référent, modality, closing): an `EpisodeOfCare` (the pathway) with the
  person as a contained `Patient`.

What it carries is decided by the receiving organisation's own grants on the pathway, the same
rows that decide what its members read (parcours.access.organisation_bases): the person's
name and birth date only with `identity`; the referral's kind, reason, appointment, refusal
reason and outcome, the pathway's modality, référent and exit outcome only with `pathway` — and
without `pathway` no message at all. No other free text (context note, comments, timeline
notes) ever leaves by this door: they belong to categories the receiving system's role cannot be
known to read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from .. import access
from ..categories import DataCategory
from ..models import (
    Organisation,
    Pathway,
    PathwayOutcome,
    PathwayStatus,
    Person,
    Referral,
    ReferralStatus,
    SupportModality,
)

# The only categories a message ever carries (what _task and _episode_of_care read).
CARRIED = frozenset({DataCategory.IDENTITY, DataCategory.PATHWAY})
CODE_SYSTEM = "urn:parcours:fhir:CodeSystem"
PATHWAY_OUTCOME_EXTENSION = "urn:parcours:fhir:StructureDefinition/pathway-outcome"
REFERRAL_IDENTIFIER = "urn:parcours:referral"
PATHWAY_IDENTIFIER = "urn:parcours:pathway"
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


def _patient(person: Person, categories: frozenset[str]) -> dict:
    """The person as a contained Patient: an empty one (`#person` still resolves) without
    `identity`."""
    patient: dict = {"resourceType": "Patient", "id": "person"}
    if DataCategory.IDENTITY in categories:
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
        "contained": [
            _service_request(referral, categories),
            _patient(referral.pathway.person, categories),
        ],
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


# The pathway's state as an EpisodeOfCare status.
EPISODE_STATUS: dict[str, str] = {PathwayStatus.OPEN: "active", PathwayStatus.CLOSED: "finished"}


def _episode_of_care(pathway: Pathway, categories: frozenset[str]) -> dict:
    """The pathway as an EpisodeOfCare. Only called with `pathway` (else no message): its
    status, dates, modality, owner, référent and outcome are all of that category."""
    modality = SupportModality(pathway.modality)
    episode: dict = {
        "resourceType": "EpisodeOfCare",
        "id": f"pathway-{pathway.pk}",
        "contained": [_patient(pathway.person, categories)],
        # A pathway has no reference of its own: its number, as the pages show it.
        "identifier": [{"system": PATHWAY_IDENTIFIER, "value": str(pathway.pk)}],
        "status": EPISODE_STATUS[pathway.status],
        "type": [_concept("support-modality", modality.value, str(modality.label))],
        "patient": {"reference": "#person"},
        "managingOrganization": _organisation(pathway.owner_organisation),
        "period": {"start": _iso(pathway.opened_at)},
    }
    if pathway.referent is not None:
        # What the API's pathway shows a partner with `pathway`: the référent's name (no id,
        # no address: a display only).
        referent = pathway.referent
        episode["careManager"] = {"display": referent.get_full_name() or referent.get_username()}
    if pathway.status == PathwayStatus.CLOSED:
        episode["period"]["end"] = _iso(pathway.closed_at)
        episode["statusHistory"] = [{"status": "active", "period": dict(episode["period"])}]
        if pathway.outcome:
            outcome = PathwayOutcome(pathway.outcome)
            episode["extension"] = [
                {
                    "url": PATHWAY_OUTCOME_EXTENSION,
                    "valueCodeableConcept": _concept(
                        "pathway-outcome", outcome.value, str(outcome.label)
                    ),
                }
            ]
    return episode


@dataclass(frozen=True)
class WebhookBody:
    """The message for one organisation: its text, and what it carries under which bases (the
    journal's export row)."""

    text: str
    categories: frozenset[str]
    basis: frozenset[str]


def _body(
    *,
    pathway_id: int,
    organisation: Organisation,
    event_type: str,
    now: dt.datetime,
    data: Callable[[frozenset[str]], dict],
) -> WebhookBody | None:
    """The envelope around `data(categories)`, for what `organisation`'s own grant rows show of
    the pathway now; None without `pathway` (no message then)."""
    bases = access.organisation_bases(organisation, pathway_id)
    categories = frozenset(bases)
    if DataCategory.PATHWAY not in categories:
        return None
    envelope = {"type": event_type, "timestamp": _iso(now), "data": data(categories)}
    shown = categories & CARRIED
    return WebhookBody(
        text=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")),
        categories=shown,
        basis=frozenset(code for category in shown for code in bases[category]),
    )


def webhook_body(
    *, referral: Referral, organisation: Organisation, event_type: str, now: dt.datetime
) -> WebhookBody | None:
    """The exact bytes (as text) sent to `organisation`'s systems for a referral event, or None
    when it sees nothing of the pathway's referrals any more (no message then)."""
    return _body(
        pathway_id=referral.pathway_id,
        organisation=organisation,
        event_type=event_type,
        now=now,
        data=lambda categories: _task(referral, categories, now=now),
    )


def pathway_webhook_body(
    *, pathway: Pathway, organisation: Organisation, event_type: str, now: dt.datetime
) -> WebhookBody | None:
    """The exact bytes (as text) sent to `organisation`'s systems for a pathway event, or None
    when it does not see the pathway (`pathway`) now."""
    return _body(
        pathway_id=pathway.pk,
        organisation=organisation,
        event_type=event_type,
        now=now,
        data=lambda categories: _episode_of_care(pathway, categories),
    )
