"""The same operation through the API and through a page leaves the same journal rows but for
the door (issue 12, ADR 0010): each operation runs once per door, by the same actor on the same
record, each time in a savepoint rolled back afterwards, so both doors start from the same world.
The rows are compared field by field, except what names the request (`id`, `occurred_at`,
`request_id`, `client_ip`), the sealing (`chain_seq`, `prev_hash`, `row_hash`) and
`detail["door"]` — which must say "api" for one and "page" for the other. A record created by the
operation (a consent, a break-glass) gets a new id each time: it is named by its kind instead.

Time stands still during the test, so dates the gate derives from "now" (a break-glass's end, in
its row's detail) are the same through both doors.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from parcours.models import AccessEvent, BreakGlass, Consent, Referral, ReferralStatus, Role
from tests.factories import (
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    with_evidence,
)
from web.forms import PersonForm

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)
# What names the request or the seal, not the access.
NOT_COMPARED = {
    "id",
    "occurred_at",
    "request_id",
    "client_ip",
    "chain_seq",
    "prev_hash",
    "row_hash",
}
REASON = "Urgence : vérifier la RQTH avant la prise de poste"


class World:
    """France Travail holds Léa Martin's pathway (its counsellor is her référent) and has sent a
    referral to an SIAE, to which Léa consented to show her identity and pathway; a Mission
    locale follows someone else."""

    def __init__(self):
        self.home = OrganisationFactory(name="France Travail Lens")
        self.siae = OrganisationFactory(siae=True, name="Chantier Les Jardins")
        self.elsewhere = OrganisationFactory(mission_locale=True, name="Mission locale Arras")
        self.me = MembershipFactory(organisation=self.home, role=Role.COUNSELLOR).user
        self.receiver = MembershipFactory(organisation=self.siae, role=Role.COUNSELLOR).user
        self.person = PersonFactory(first_name="Léa", last_name="Martin", city="Lens")
        self.pathway = PathwayFactory(
            person=self.person, owner_organisation=self.home, referent=self.me
        )
        self.consent = ConsentFactory(
            person=self.person, organisations=[self.siae], categories=["identity", "pathway"]
        )
        self.referral = ReferralFactory(
            pathway=self.pathway,
            sender_user=self.me,
            receiver_organisation=self.siae,
            sent=True,
            with_consent=False,
        )
        self.foreign_person = PathwayFactory(owner_organisation=self.elsewhere).person
        self.foreign_consent = ConsentFactory(person=self.foreign_person, organisations=[self.siae])


def _evidence(consent) -> int:
    """The consent, with its signed form kept (encrypted) before the doors are compared."""
    if not consent.evidence_file:
        with_evidence(consent)
    return consent.pk


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Operation:
    actor: Callable[[World], Any]  # the user (acting for their one organisation)
    api: Callable[[World], Call]
    page: Callable[[World], Call]
    statuses: tuple[int, int]  # (API, page)
    operations: tuple[str, ...]  # the journal rows expected, in order


def _person_form(w: World, **changes) -> dict[str, Any]:
    """What the person-edit form posts back: every field as shown (an unticked box is not
    sent, an empty date is sent empty, as by a browser), with `changes`."""
    data = {
        name: "" if value is None else value
        for name in PersonForm.base_fields
        if (value := getattr(w.person, name)) is not False
    }
    data["birth_date"] = w.person.birth_date.isoformat()
    return {**data, **changes}


OPERATIONS: dict[str, Operation] = {
    "reading a person's record": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call("GET", f"/api/v1/persons/{w.person.pk}/"),
        page=lambda w: Call("GET", reverse("web:person-detail", args=[w.person.pk])),
        statuses=(200, 200),
        operations=("read",),
    ),
    "reading a referral (its receiver)": Operation(
        actor=lambda w: w.receiver,
        api=lambda w: Call("GET", f"/api/v1/referrals/{w.referral.pk}/"),
        page=lambda w: Call("GET", reverse("web:referral-detail", args=[w.referral.pk])),
        statuses=(200, 200),
        operations=("read",),
    ),
    "reading a person out of scope": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call("GET", f"/api/v1/persons/{w.foreign_person.pk}/"),
        page=lambda w: Call("GET", reverse("web:person-detail", args=[w.foreign_person.pk])),
        statuses=(404, 404),
        operations=("denied",),
    ),
    "recording a consent": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call(
            "POST",
            "/api/v1/consents/",
            {
                "person": w.person.pk,
                "organisations": [w.siae.pk],
                "categories": ["contact"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
        ),
        page=lambda w: Call(
            "POST",
            reverse("web:consent-create", args=[w.person.pk]),
            {
                "organisations": [w.siae.pk],
                "categories": ["contact"],
                "purpose": "Coordination",
                "evidence_kind": "oral",
            },
        ),
        statuses=(201, 302),
        operations=("write",),
    ),
    "narrowing a consent": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call(
            "POST", f"/api/v1/consents/{w.consent.pk}/narrow/", {"categories": ["identity"]}
        ),
        page=lambda w: Call(
            "POST",
            reverse("web:consent-narrow", args=[w.person.pk, w.consent.pk]),
            {"categories": ["identity"]},
        ),
        statuses=(200, 302),
        operations=("write",),
    ),
    "revoking a consent": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call("POST", f"/api/v1/consents/{w.consent.pk}/revoke/"),
        page=lambda w: Call(
            "POST", reverse("web:consent-revoke", args=[w.person.pk, w.consent.pk])
        ),
        statuses=(200, 302),
        operations=("write",),
    ),
    "rectifying a person's field": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call("PATCH", f"/api/v1/persons/{w.person.pk}/", {"city": "Arras"}),
        page=lambda w: Call(
            "POST",
            reverse("web:person-edit", args=[w.person.pk]),
            _person_form(w, city="Arras"),
        ),
        statuses=(200, 302),
        operations=("write",),
    ),
    "accepting a referral (its receiver)": Operation(
        actor=lambda w: w.receiver,
        api=lambda w: Call("POST", f"/api/v1/referrals/{w.referral.pk}/accept/"),
        page=lambda w: Call("POST", reverse("web:referral-move", args=[w.referral.pk, "accept"])),
        statuses=(200, 302),
        operations=("write",),
    ),
    "opening a break-glass": Operation(
        actor=lambda w: w.receiver,
        api=lambda w: Call(
            "POST",
            f"/api/v1/pathways/{w.pathway.pk}/break-glass/",
            {"category": "health", "reason": REASON},
        ),
        page=lambda w: Call(
            "POST",
            reverse("web:break-glass", args=[w.person.pk]),
            {"category": "health", "reason": REASON},
        ),
        statuses=(201, 302),
        operations=("break_glass",),
    ),
    "writing a domain of the shared diagnostic": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call(
            "POST",
            f"/api/v1/pathways/{w.pathway.pk}/diagnostic/",
            {"domain": "housing", "text": "Hébergée chez sa sœur", "level": "blocking"},
        ),
        page=lambda w: Call(
            "POST",
            reverse("web:diagnostic-write", args=[w.pathway.pk, "logement"]),
            {"text": "Hébergée chez sa sœur", "level": "blocking"},
        ),
        statuses=(201, 302),
        operations=("write",),
    ),
    # Out of scope for this domain: Léa shared no social data with the SIAE.
    "writing a diagnostic domain of a category not shared": Operation(
        actor=lambda w: w.receiver,
        api=lambda w: Call(
            "POST",
            f"/api/v1/pathways/{w.pathway.pk}/diagnostic/",
            {"domain": "housing", "text": "Hébergée chez sa sœur"},
        ),
        page=lambda w: Call(
            "POST",
            reverse("web:diagnostic-write", args=[w.pathway.pk, "logement"]),
            {"text": "Hébergée chez sa sœur"},
        ),
        statuses=(404, 404),
        operations=("denied",),
    ),
    # The consent's signed form (issue 15): the consent's read rule, a read of the identity.
    "downloading a consent's evidence file": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call("GET", f"/api/v1/consents/{_evidence(w.consent)}/evidence/"),
        page=lambda w: Call(
            "GET",
            reverse("web:consent-evidence", args=[w.person.pk, _evidence(w.consent)]),
        ),
        statuses=(200, 200),
        operations=("read",),
    ),
    "downloading a consent's evidence file (an organisation it names)": Operation(
        actor=lambda w: w.receiver,
        api=lambda w: Call("GET", f"/api/v1/consents/{_evidence(w.consent)}/evidence/"),
        page=lambda w: Call(
            "GET",
            reverse("web:consent-evidence", args=[w.person.pk, _evidence(w.consent)]),
        ),
        statuses=(200, 200),
        operations=("read",),
    ),
    "downloading the evidence file of a consent out of scope": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call("GET", f"/api/v1/consents/{_evidence(w.foreign_consent)}/evidence/"),
        page=lambda w: Call(
            "GET",
            reverse(
                "web:consent-evidence",
                args=[w.foreign_person.pk, _evidence(w.foreign_consent)],
            ),
        ),
        statuses=(404, 404),
        operations=("denied",),
    ),
    # Refused by the gate's table, on records the actor sees.
    "rectifying a person, refused to a referral's receiver": Operation(
        actor=lambda w: w.receiver,
        api=lambda w: Call("PATCH", f"/api/v1/persons/{w.person.pk}/", {"city": "Arras"}),
        page=lambda w: Call(
            "POST",
            reverse("web:person-edit", args=[w.person.pk]),
            _person_form(w, city="Arras"),
        ),
        statuses=(403, 403),
        operations=("denied",),
    ),
    "revoking a consent, refused to an organisation that did not collect it": Operation(
        actor=lambda w: w.receiver,
        api=lambda w: Call("POST", f"/api/v1/consents/{w.consent.pk}/revoke/"),
        page=lambda w: Call(
            "POST", reverse("web:consent-revoke", args=[w.person.pk, w.consent.pk])
        ),
        statuses=(403, 403),
        operations=("denied",),
    ),
    "accepting a referral, refused to its sender": Operation(
        actor=lambda w: w.me,
        api=lambda w: Call("POST", f"/api/v1/referrals/{w.referral.pk}/accept/"),
        page=lambda w: Call("POST", reverse("web:referral-move", args=[w.referral.pk, "accept"])),
        statuses=(403, 403),
        operations=("denied",),
    ),
}

# Records an operation creates: their ids differ from one door to the other.
CREATED = {"consent": Consent, "break_glass": BreakGlass}


class _Rollback(Exception):
    pass


def _highest(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _send(client, call: Call, *, api: bool):
    if call.method == "GET":
        return client.get(call.url)
    if api:
        return getattr(client, call.method.lower())(call.url, call.data or {}, format="json")
    return client.post(call.url, call.data or {})


def _rows_of(client, call: Call, *, api: bool) -> tuple[int, list[dict], dict[int, str]]:
    """The status, the journal rows and the ids of the records created (named by their kind),
    of one request run in a savepoint that is rolled back."""
    try:
        with transaction.atomic():
            before = _highest(AccessEvent)
            created_before = {kind: _highest(model) for kind, model in CREATED.items()}
            status = _send(client, call, api=api).status_code
            rows = [
                model_to_dict(row)
                for row in AccessEvent.objects.filter(id__gt=before).order_by("id")
            ]
            created = {
                pk: kind
                for kind, model in CREATED.items()
                for pk in model.objects.filter(pk__gt=created_before[kind]).values_list(
                    "pk", flat=True
                )
            }
            raise _Rollback
    except _Rollback:
        pass
    return status, rows, created


def _comparable(row: dict, created: dict[int, str]) -> dict:
    """The row without what names the request or the seal, the door set aside, and the ids of
    the records the operation created replaced by their kind."""
    row = {k: v for k, v in row.items() if k not in NOT_COMPARED}
    row["detail"] = {k: v for k, v in row["detail"].items() if k != "door"}

    def named(pk):
        return f"<{created[pk]} créé>" if pk in created else pk

    row["object_id"] = named(row["object_id"])
    row["object_ids"] = [named(pk) for pk in row["object_ids"]]
    row["basis"] = re.sub(
        r"(\w+):(\d+)",
        lambda m: f"{m[1]}:{named(int(m[2])) if m[1] in CREATED else m[2]}",
        row["basis"],
    )
    return row


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_every_operation_is_compared_once_through_each_door():
    """The operations the brief of issue 12 names, each with a success and a refusal."""
    assert len(OPERATIONS) >= 10
    assert {op.operations for op in OPERATIONS.values()} >= {
        ("read",),
        ("write",),
        ("denied",),
        ("break_glass",),
    }


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_the_journal_row_is_the_same_but_for_the_door(name, frozen):
    world = World()
    operation = OPERATIONS[name]
    user = operation.actor(world)
    api_client = APIClient()
    api_client.force_authenticate(user=user)
    page_client = Client()  # a browser's session; its POSTs are forms
    page_client.force_login(user)

    api_status, api_rows, api_created = _rows_of(api_client, operation.api(world), api=True)
    page_status, page_rows, page_created = _rows_of(page_client, operation.page(world), api=False)

    assert (api_status, page_status) == operation.statuses
    assert [r["operation"] for r in api_rows] == list(operation.operations), api_rows
    assert [r["operation"] for r in page_rows] == list(operation.operations), page_rows
    assert [r["detail"]["door"] for r in api_rows] == ["api"] * len(api_rows)
    assert [r["detail"]["door"] for r in page_rows] == ["page"] * len(page_rows)
    api_view = [_comparable(r, api_created) for r in api_rows]
    page_view = [_comparable(r, page_created) for r in page_rows]
    assert page_view == api_view
    for row in api_view:  # the row says who did what to which record, and why
        assert row["user"] == user.pk and row["organisation"] is not None
        assert row["object_id"] is not None and row["person_id"] is not None
        assert row["detail"]["action"]
        if row["operation"] != "denied" or row["detail"].get("refusal") == "not_allowed":
            assert row["purpose"], row


def test_nothing_is_left_by_the_rolled_back_door(frozen):
    """Both doors start from the same world: the first one's changes are rolled back."""
    world = World()
    operation = OPERATIONS["accepting a referral (its receiver)"]
    client = APIClient()
    client.force_authenticate(user=world.receiver)
    status, rows, _created = _rows_of(client, operation.api(world), api=True)
    assert status == 200 and rows
    assert Referral.objects.get(pk=world.referral.pk).status == ReferralStatus.SENT
    assert not AccessEvent.objects.filter(user=world.receiver).exists()
