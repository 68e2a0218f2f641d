"""The permission matrix of consent-scoped access (issue 3).

Every (route, method) the URL resolver serves under /api/v1/ is a row of ENDPOINTS (a new
endpoint not in the table fails `test_endpoints_table_covers_the_resolver`). Every scenario of
`scenarios.CASES` (relationship × basis × role, with the exact categories the user must see) is
run against every row; each request runs in a savepoint rolled back afterwards, so writes do not
leak into the next row. For each request the test asserts:

* the status code, computed from the scenario's expected categories: a record the user may not
  see (or whose needed category they may not see) answers 404, never 403; 403 is kept for a user
  without membership, the wrong party on a visible referral, a role forbidden on a visible
  record (or on a creation that names no record);
* for the category probes (persons, pathways, referrals: lists and details) the exact set of
  categories: `categories` equals the expected set, and the top-level keys present are exactly
  the fields whose category (parcours/categories.py maps) is expected;
* the access journal: one row per read, write or denial of a record endpoint, with the right
  operation, object, categories and basis codes — reads with the categories shown, writes
  (journaled by the services, through the gate) with the categories written, refusals on the
  record refused, including the one named in a POST's body.

Who may write is the gate's table (parcours/rules.py); the expectations below restate it
from the scenario's facts (holder of the pathway, follower, party, role), independently.
"""

import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import time_machine
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from notifications.models import Alert
from parcours.access import categories_for
from parcours.categories import PATHWAY_FIELDS, PERSON_FIELDS
from parcours.models import (
    OPEN_REFERRAL_STATUSES,
    AccessEvent,
    Objection,
    ReceiverLink,
    RightsRequest,
    Role,
)
from parcours.services.access_grants import access_recompute
from parcours.transitions import ACTION_PARTY, Action, find_move

from ..factories import (
    AgreementFactory,
    AnswerNoticeFactory,
    MembershipFactory,
    ObjectiveFactory,
    PlanActionFactory,
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
)
from .scenarios import CASES, HLT, IDN, JUS, PTH, SOC, Case, World, build_world

API = "/api/v1/"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
PATHWAY_DETAIL_ONLY = {"diagnostic_summary", "modality_periods", "barriers"}


# --- enumerating the resolver ---------------------------------------------------------------


def _template(pattern: str) -> str:
    pattern = pattern.removeprefix("^").removesuffix("$")
    pattern = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)


def _methods(callback) -> set[str]:
    view_class = getattr(callback, "cls", None) or callback.view_class
    allowed = {m.upper() for m in view_class.http_method_names}
    actions = getattr(callback, "actions", None)
    if actions is not None:
        methods = {m.upper() for m in actions} & allowed
    else:
        methods = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
    return methods - IGNORED_METHODS


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _template(str(entry.pattern)))
        elif isinstance(entry, URLPattern):
            yield prefix + _template(str(entry.pattern)), entry.callback


def resolved_endpoints() -> set[tuple[str, str]]:
    found = set()
    for template, callback in _walk(get_resolver().url_patterns, "/"):
        if template.startswith(API) and "{format}" not in template:
            found |= {(template, method) for method in _methods(callback)}
    return found


# --- the expected status of each row ---------------------------------------------------------


def _member(w: World) -> bool:
    return w.actor is not None


def _visible(w: World, category: str | None = None) -> bool:
    return bool(w.categories) if category is None else category in w.categories


def _ok_if(condition: bool, ok: int = 200) -> int:
    return ok if condition else 404


def _referral_action(action: Action) -> Callable[[World], int]:
    """Visible referral: the transitions table decides (no move → 409, wrong party → 403)."""

    def expect(w: World) -> int:
        if not _visible(w, PTH):
            return 404
        if find_move(action, w.referral.status) is None:
            return 409
        return 200 if w.party == ACTION_PARTY[action] else 403

    return expect


def _referral_assign(w: World) -> int:
    """Visible referral: its receiver's case workers and managers (the world's referral is
    open, an appointment set); the sender, or another role, is refused."""
    if not _visible(w, PTH):
        return 404
    return 200 if w.casework and w.party == "receiver" else 403


def _person_patch(w: World) -> int:
    if not _visible(w, IDN):
        return 404
    if not (w.is_caseworker and w.lead):
        return 403  # the pathway's holders rectify; a partner tells them
    return 200 if _visible(w, "contact") else 403  # the field's category is not shared


def _leads(ok: int = 200):
    """Holders of the pathway (owner, référent's organisation) only, case-work roles."""

    def expect(w: World) -> int:
        if not _visible(w, PTH):
            return 404
        return ok if w.casework and w.lead else 403

    return expect


def _barriers(w: World) -> int:
    if not _visible(w, SOC):
        return 404
    return 200 if w.is_caseworker and w.follower else 403


def _diagnostic_write(w: World) -> int:
    """The housing domain is social data: not seen → 404; then case workers of the organisations
    that follow the pathway or received its referral (parcours/rules.py)."""
    if not _visible(w, SOC):
        return 404
    return 201 if w.is_caseworker and (w.follower or w.party == "receiver") else 403


def _consent_change(w: World) -> int:
    """The world's consent was collected by the owner, which holds the pathway."""
    if not _sees_person_as_caseworker(w):
        return 404
    return 200 if w.lead else 403


def _referent(w: World) -> int:
    if not _visible(w, PTH):
        return 404
    return 200 if w.acting_org.pk == w.pathway.owner_organisation_id else 403


def _pathway_close(w: World) -> int:
    if not _visible(w, PTH):
        return 404
    if w.acting_org.pk != w.pathway.owner_organisation_id:
        return 403
    return 409  # the scenario's referral is still open


def _break_glass_open(w: World) -> int:
    if not w.relationship or w.sees_nothing_by_role:
        return 404
    if w.role not in (Role.COUNSELLOR, Role.SOCIAL_WORKER):
        return 403
    return 409 if _visible(w, HLT) else 201


def _referral_create(w: World) -> int:
    if not _visible(w, PTH):
        return 404
    if not (w.is_caseworker and w.follower):
        return 403  # a receiver sending the person on would see more than was shared with it
    return 201  # identity is always shared: the sender sees it (a case worker who follows)


def _messages(ok: int):
    """The referral's thread: within its basis (404 otherwise), then the case workers of its
    sender or receiver (403 for a care-team bystander, a manager…). The world's referral is
    never a draft to a party that sees it (a receiver does not see drafts)."""

    def expect(w: World) -> int:
        if not _visible(w, PTH):
            return 404
        return ok if w.is_caseworker and w.party is not None else 403

    return expect


def _receiver_link_move(ok: int):
    """A referral's link (issue 19): within the referral's basis (404 otherwise), its sender's
    case workers and managers (403 otherwise); a new link only for a referral sent and open
    (409 otherwise; the world's receivers other than the actor's organisation have nobody)."""

    def expect(w: World) -> int:
        if not _visible(w, PTH):
            return 404
        if not (w.casework and w.party == "sender"):
            return 403
        if ok == 201 and (
            w.referral.status == "draft" or w.referral.status not in OPEN_REFERRAL_STATUSES
        ):
            return 409
        return ok

    return expect


def _receiver_link_in_force(w: World) -> int:
    """A link in force on the world's referral (its revocation's record)."""
    ReceiverLink.objects.create(
        referral=w.referral,
        organisation_id=w.referral.receiver_organisation_id,
        token_hash=secrets.token_hex(32),
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    return w.referral.pk


def _sees_person_as_caseworker(w: World) -> bool:
    return w.is_caseworker and _visible(w, IDN)


def _objection_create(w: World) -> int:
    if not _sees_person_as_caseworker(w):
        return 404
    return 409 if w.case.basis == "objection" else 201


def _objection_withdraw(w: World) -> int:
    # While the person objects, only the non-consent bases remain.
    if not (w.is_caseworker and IDN in w.without_consent):
        return 404
    return 200 if w.lead else 403


def _care_team_lead(ok: int):
    def expect(w: World) -> int:
        if not _visible(w, PTH) or (ok == 200 and w.case.relationship == "care_team_ended"):
            return 404
        return ok if w.lead else 403

    return expect


def _access_request_visible(w: World) -> bool:
    return w.casework and w.acting_org.pk in (
        w.access_request.requesting_organisation_id,
        w.pathway.owner_organisation_id,
    )


def _access_request_decide(w: World) -> int:
    return _ok_if(_access_request_visible(w) and w.acting_org.pk == w.owner.pk)


def _manages_agreements(ok: int):
    return lambda w: ok if w.role in (Role.MANAGER, Role.ADMIN) else 403


def _consent_with_evidence(w) -> int:
    """The world's consent with a signed form joined, kept as the consent services keep one."""
    from tests.factories import with_evidence

    with_evidence(w.consent)
    return w.consent.pk


def _administers(ok: int):
    """The organisation's administrators only (tokens of partner systems, issue 15)."""
    return lambda w: ok if w.role == Role.ADMIN else 403


def _owner_token(w: World) -> int:
    """A token of the acting organisation (its owner's counsellor when it has no actor)."""
    from tests.factories import api_token_for

    member = w.actor if w.actor is not None else w.owner_counsellor
    return api_token_for(member)[0].pk


def _acting_subscription(w: World) -> int:
    """A webhook subscription of the acting organisation (issue 19)."""
    return WebhookSubscriptionFactory(organisation=w.acting_org).pk


def _acting_delivery(w: World) -> int:
    """A webhook delivery of one of the acting organisation's subscriptions."""
    from parcours.models import WebhookSubscription

    return WebhookDeliveryFactory(
        subscription=WebhookSubscription.objects.get(pk=_acting_subscription(w))
    ).pk


WEBHOOK_PAYLOAD = {
    "url": "https://partenaire.example.org/webhooks",
    "description": "Logiciel rSa",
    "events": ["referral.sent", "referral.closed"],
}


def _always(status: int = 200):
    return lambda w: status


DPO_ROLES = (Role.DPO, Role.NATIONAL_DPO)


def _dpo(ok: int = 200):
    """DPO reports: DPO roles only (403 for the others, before any record is looked at)."""
    return lambda w: ok if w.role in DPO_ROLES else 403


def _dpo_of_related(ok: int = 200):
    """A report on a person or a user: the DPO of an organisation related to them, or the
    national DPO; an unrelated organisation's DPO gets 404."""

    def expect(w: World) -> int:
        if w.role not in DPO_ROLES:
            return 403
        related = w.role == Role.NATIONAL_DPO or w.case.relationship != "none"
        return ok if related else 404

    return expect


def _manager(ok: int = 200):
    """The statistics (issue 18): managers and territorial coordinators only, whatever the record
    (403 for the others, before any filter is read)."""
    return lambda w: ok if w.role in (Role.MANAGER, Role.COORDINATOR) else 403


def _coordinator_only(ok: int = 200):
    """The territory (issue 18): territorial coordinators only (403 for the others)."""
    return lambda w: ok if w.role == Role.COORDINATOR else 403


def _rights_request(w: World) -> int:
    return RightsRequest.objects.create(
        person=w.person,
        organisation=w.acting_org,
        kind="erasure",
        received_on=timezone.localdate(),
        due_on=timezone.localdate() + dt.timedelta(days=30),
        recorded_by=w.owner_counsellor.user,
    ).pk


# --- payloads and prepared records ----------------------------------------------------------


def _soon() -> str:
    return (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0).isoformat()


def _active_objection(w: World) -> int:
    active = Objection.objects.filter(person=w.person, withdrawn_at__isnull=True).first()
    if active is None:
        active = Objection.objects.create(
            person=w.person, recorded_at=timezone.now(), recorded_by=w.owner_counsellor.user
        )
        access_recompute(pathway_id=w.pathway.pk)
    return active.pk


def _alert_on_the_referral(w: World) -> int:
    """An open alert about the scenario's referral (alerts are shown to its two parties)."""
    now = timezone.now()
    return Alert.objects.create(
        referral=w.referral, kind="unanswered", level=1, due_at=now, created_at=now
    ).pk


def _alert_visible(w: World) -> int:
    return _ok_if(_visible(w, PTH) and w.party is not None)


def _answer_to_the_user(w: World) -> int:
    """The receiver's acceptance of the scenario's referral, told to the scenario's user (the
    services tell the sending side only; built here for every user, so the deny cases run)."""
    return AnswerNoticeFactory(referral=w.referral, recipient=w.user).pk


def _answer_visible(w: World) -> int:
    """Its recipient, acting for the organisation that sent the referral and still sees it."""
    return _ok_if(_visible(w, PTH) and w.party == "sender")


NEW_PERSON = {"first_name": "Léa", "last_name": "Martin", "birth_date": "2001-03-04"}
REASON = "Urgence : situation à vérifier avec la personne"


@dataclass(frozen=True)
class Row:
    expect: Callable[[World], int]
    pk: Callable[[World], int] | None = None  # the record in the URL
    payload: Callable[[World], dict] | None = None
    journal: str | None = None  # object type journaled, or "break_glass", "access_request"
    probe: str | None = None  # "person", "pathway", "referral": check the categories shown
    record: bool = True  # False: the shared directory, answered by role only
    prepare: Callable[[World], int] | None = None  # builds the URL's record in the savepoint
    # A write: the categories it writes, and those whose bases justify it when it writes none.
    writes: Callable[[World], frozenset[str]] | None = None
    because: frozenset[str] | None = None
    # A read: what it shows (None: every category visible).
    shows: frozenset[str] | None = None
    # A refused POST without a record in its URL: the record of its body, refused.
    denied_on: Callable[[World], tuple[str, int]] | None = None
    # A creation of a person: its bases are those of the new pathway (the actor holds it).
    creates_pathway: bool = False
    # Acted while the person objects: the consents' bases are not in force.
    under_objection: bool = False


def _written(*categories: str):
    return lambda w: frozenset(categories)


def _referral_written(w: World) -> frozenset[str]:
    return frozenset({PTH} | ({SOC} if w.referral.context_note else set()))


def directory(pk=None, payload=None, expect=None) -> Row:
    return Row(expect=expect or _always(), pk=pk, payload=payload, record=False)


ENDPOINTS: dict[tuple[str, str], Row] = {
    # --- the shared directory and the user's own memberships: by role only ----------------------
    ("/api/v1/", "GET"): directory(),
    ("/api/v1/me/", "GET"): directory(),
    ("/api/v1/me/acting-organisation/", "POST"): directory(
        payload=lambda w: {"organisation": w.acting_org.pk}
    ),
    ("/api/v1/me/notification-preference/", "GET"): directory(),
    ("/api/v1/me/notification-preference/", "PUT"): directory(payload=lambda w: {"mode": "digest"}),
    ("/api/v1/employment-areas/", "GET"): directory(),
    ("/api/v1/employment-areas/{pk}/", "GET"): directory(pk=lambda w: w.owner.employment_area_id),
    ("/api/v1/organisations/", "GET"): directory(),
    ("/api/v1/organisations/{pk}/", "GET"): directory(pk=lambda w: w.owner.pk),
    ("/api/v1/services/", "GET"): directory(),
    ("/api/v1/services/{pk}/", "GET"): directory(pk=lambda w: w.service.pk),
    ("/api/v1/agreements/", "GET"): directory(),
    ("/api/v1/agreements/", "POST"): directory(
        payload=lambda w: {
            "name": "Convention de coordination",
            "level": "local",
            "parties": [w.acting_org.pk, w.bystander.pk],
            "starts_on": "2025-01-01",
        },
        expect=_manages_agreements(201),
    ),
    ("/api/v1/agreements/{pk}/", "GET"): directory(pk=lambda w: w.agreement.pk),
    ("/api/v1/agreements/{pk}/", "PATCH"): directory(
        pk=lambda w: w.agreement.pk,
        payload=lambda w: {"name": "Convention renommée"},
        expect=_manages_agreements(200),
    ),
    # Each party answers for itself: its managers and administrators, whatever the pathway.
    ("/api/v1/agreements/{pk}/accept/", "POST"): Row(
        expect=_manages_agreements(200),
        prepare=lambda w: (
            AgreementFactory(
                parties=[w.acting_org, w.bystander], parties__pending=[w.acting_org]
            ).pk
        ),
        record=False,
    ),
    ("/api/v1/agreements/{pk}/decline/", "POST"): directory(
        pk=lambda w: w.agreement.pk,
        payload=lambda w: {"reason": "Convention à revoir"},
        expect=_manages_agreements(200),
    ),
    # --- people's records: the category probes ---------------------------------------------------
    ("/api/v1/persons/", "GET"): Row(_always(), journal="person", probe="person"),
    ("/api/v1/persons/", "POST"): Row(
        lambda w: 201 if w.is_caseworker else 403,
        payload=lambda w: NEW_PERSON,
        journal="person",
        writes=_written(IDN),
        creates_pathway=True,
    ),
    ("/api/v1/persons/{pk}/", "GET"): Row(
        lambda w: _ok_if(_visible(w, IDN)),
        pk=lambda w: w.person.pk,
        journal="person",
        probe="person",
    ),
    ("/api/v1/persons/{pk}/", "PATCH"): Row(
        _person_patch,
        pk=lambda w: w.person.pk,
        payload=lambda w: {"city": "Arras"},
        journal="person",
        writes=_written("contact"),
    ),
    ("/api/v1/pathways/", "GET"): Row(_always(), journal="pathway", probe="pathway"),
    ("/api/v1/pathways/{pk}/", "GET"): Row(
        lambda w: _ok_if(_visible(w)), pk=lambda w: w.pathway.pk, journal="pathway", probe="pathway"
    ),
    ("/api/v1/pathways/{pk}/timeline/", "GET"): Row(
        lambda w: _ok_if(_visible(w)), pk=lambda w: w.pathway.pk, journal="pathway"
    ),
    ("/api/v1/pathways/{pk}/notes/", "POST"): Row(
        lambda w: _ok_if(_visible(w, PTH), 201),
        pk=lambda w: w.pathway.pk,
        payload=lambda w: {"kind": "note", "text": "Entretien de suivi"},
        journal="pathway",
        writes=_written(PTH),
    ),
    ("/api/v1/pathways/{pk}/modality/", "POST"): Row(
        _leads(),
        pk=lambda w: w.pathway.pk,
        payload=lambda w: {"modality": "guide"},
        journal="pathway",
        writes=_written(PTH),
    ),
    ("/api/v1/pathways/{pk}/referent/", "POST"): Row(
        _referent,
        pk=lambda w: w.pathway.pk,
        payload=lambda w: {"referent": w.owner_counsellor.user.pk},
        journal="pathway",
        writes=_written(PTH),
    ),
    ("/api/v1/pathways/{pk}/diagnostic/", "GET"): Row(
        lambda w: _ok_if(_visible(w)),
        pk=lambda w: w.pathway.pk,
        journal="pathway",
        shows=frozenset({PTH, SOC, HLT, JUS}),  # the domains of the categories seen
    ),
    ("/api/v1/pathways/{pk}/diagnostic/", "POST"): Row(
        _diagnostic_write,
        pk=lambda w: w.pathway.pk,
        payload=lambda w: {"domain": "housing", "text": "Hébergée chez un tiers"},
        journal="pathway",
        writes=_written(SOC),
    ),
    ("/api/v1/pathways/{pk}/barriers/", "POST"): Row(
        _barriers,
        pk=lambda w: w.pathway.pk,
        payload=lambda w: {"kind": "housing", "status": "identified"},
        journal="pathway",
        writes=_written(SOC),
    ),
    ("/api/v1/pathways/{pk}/close/", "POST"): Row(
        _pathway_close,
        pk=lambda w: w.pathway.pk,
        payload=lambda w: {"outcome": "job"},
        journal="pathway",
        writes=_written(PTH),
    ),
    ("/api/v1/pathways/{pk}/break-glass/", "POST"): Row(
        _break_glass_open,
        pk=lambda w: w.pathway.pk,
        payload=lambda w: {"category": HLT, "reason": REASON},
        journal="break_glass",
    ),
    ("/api/v1/referrals/", "GET"): Row(_always(), journal="referral", probe="referral"),
    ("/api/v1/referrals/", "POST"): Row(
        _referral_create,
        payload=lambda w: {
            "pathway": w.pathway.pk,
            "receiver_organisation": w.ft_target.pk,
            "kind": "substitution",
            "reason": "Inscription comme demandeur d'emploi",
        },
        journal="referral",
        writes=_written(PTH),
        denied_on=lambda w: ("pathway", w.pathway.pk),
    ),
    ("/api/v1/referrals/{pk}/", "GET"): Row(
        lambda w: _ok_if(_visible(w, PTH)),
        pk=lambda w: w.referral.pk,
        journal="referral",
        probe="referral",
    ),
    **{
        (f"/api/v1/referrals/{{pk}}/{action.replace('_', '-')}/", "POST"): Row(
            _referral_action(Action(action)),
            pk=lambda w: w.referral.pk,
            payload=payload,
            journal="referral",
            writes=_referral_written,
        )
        for action, payload in [
            ("send", None),
            ("withdraw", lambda w: {"comment": ""}),
            ("accept", None),
            ("refuse", lambda w: {"refusal_reason": "no_capacity"}),
            ("set_appointment", lambda w: {"starts_at": _soon()}),
            ("record_attendance", None),
            ("record_no_show", None),
            ("close", lambda w: {"outcome": "support_started"}),
            # Never from the world's states (the table answers 409); its author rule:
            # tests/notifications/test_attendance_correction.py.
            ("correct_attendance", lambda w: {"reason": "Saisie inversée"}),
            # Réorientation: never from the world's states either (409 once visible); its
            # rules: tests/test_referral_transfer.py.
            (
                "propose_transfer",
                lambda w: {"receiver_organisation": w.bystander.pk, "reason": "Plus proche"},
            ),
            ("confirm_transfer", None),
            ("decline_transfer", lambda w: {"comment": ""}),
        ]
    },
    # The receiving team: the receiver's counsellors, social workers and managers hand the
    # referral to one of its case workers (a colleague made for the request).
    ("/api/v1/referrals/{pk}/assign/", "POST"): Row(
        _referral_assign,
        pk=lambda w: w.referral.pk,
        payload=lambda w: {
            "user": MembershipFactory(
                organisation=w.referral.receiver_organisation, role=Role.COUNSELLOR
            ).user_id
        },
        journal="referral",
        writes=_written(PTH),
    ),
    # --- the thread between the referral's two parties: their case workers (rules.py) -----------
    ("/api/v1/referrals/{pk}/messages/", "GET"): Row(
        _messages(200),
        pk=lambda w: w.referral.pk,
        journal="referral",
        shows=frozenset({PTH}),
    ),
    ("/api/v1/referrals/{pk}/messages/", "POST"): Row(
        _messages(201),
        pk=lambda w: w.referral.pk,
        payload=lambda w: {"text": "La personne a-t-elle un moyen de transport ?"},
        journal="referral",
        writes=_written(PTH),
    ),
    # --- the link of a receiver without an account (issue 19): its state to whoever sees the
    # referral; its revocation and a new one to the sender's case workers and managers -----------
    ("/api/v1/referrals/{pk}/receiver-link/", "GET"): Row(
        lambda w: _ok_if(_visible(w, PTH)),
        pk=lambda w: w.referral.pk,
        journal="referral",
        shows=frozenset({PTH}),
    ),
    ("/api/v1/referrals/{pk}/receiver-link/revoke/", "POST"): Row(
        _receiver_link_move(200),
        prepare=_receiver_link_in_force,
        journal="referral",
        writes=_written(PTH),
    ),
    ("/api/v1/referrals/{pk}/receiver-link/issue/", "POST"): Row(
        _receiver_link_move(201),
        pk=lambda w: w.referral.pk,
        journal="referral",
        writes=_written(PTH),
    ),
    # --- alerts about a referral: its two parties, within what they may see ----------------------
    ("/api/v1/alerts/", "GET"): Row(_always()),
    ("/api/v1/alerts/{pk}/", "GET"): Row(_alert_visible, prepare=_alert_on_the_referral),
    ("/api/v1/alerts/{pk}/acknowledge/", "POST"): Row(
        _alert_visible, prepare=_alert_on_the_referral
    ),
    # --- answers to a referral: the sending side's recipient only (issue 14) ---------------------
    ("/api/v1/answers/", "GET"): Row(_always()),
    ("/api/v1/answers/{pk}/", "GET"): Row(_answer_visible, prepare=_answer_to_the_user),
    ("/api/v1/answers/{pk}/seen/", "POST"): Row(_answer_visible, prepare=_answer_to_the_user),
    ("/api/v1/appointments/", "GET"): Row(_always(), journal="appointment", shows=frozenset({PTH})),
    ("/api/v1/appointments/{pk}/", "GET"): Row(
        lambda w: _ok_if(_visible(w, PTH)),
        pk=lambda w: w.appointment.pk,
        journal="appointment",
        shows=frozenset({PTH}),
    ),
    # --- the person's choices and the access mechanics ----------------------------------------
    ("/api/v1/consents/", "GET"): Row(_always()),
    ("/api/v1/consents/", "POST"): Row(
        lambda w: _ok_if(_sees_person_as_caseworker(w), 201),
        payload=lambda w: {
            "person": w.person.pk,
            "organisations": [w.bystander.pk],
            "categories": [IDN],
            "purpose": "Coordination",
            "evidence_kind": "oral",
        },
        journal="consent",
        writes=_written(),
        because=frozenset({IDN}),
        denied_on=lambda w: ("person", w.person.pk),
    ),
    # Per category: the same rule, one consent per group of categories (one journal row each).
    ("/api/v1/consents/choices/", "POST"): Row(
        lambda w: _ok_if(_sees_person_as_caseworker(w), 201),
        payload=lambda w: {
            "person": w.person.pk,
            "choices": [{"category": IDN, "organisations": [w.bystander.pk]}],
            "purpose": "Coordination",
            "evidence_kind": "oral",
        },
        journal="consent",
        writes=_written(),
        because=frozenset({IDN}),
        denied_on=lambda w: ("person", w.person.pk),
    ),
    # The world's consent names the bystander and was collected by the owner: a partner reads
    # the consents that concern it (ADR 0010), so only the owner reads this one.
    ("/api/v1/consents/{pk}/", "GET"): Row(
        lambda w: _ok_if(_visible(w, IDN) and w.acting_org.pk == w.owner.pk),
        pk=lambda w: w.consent.pk,
        journal="consent",
        shows=frozenset(),
        because=frozenset({IDN}),
    ),
    # Its evidence file: whoever reads the consent (the same rule), journaled as a read of the
    # identity category (issue 15, parcours/evidence.py).
    ("/api/v1/consents/{pk}/evidence/", "GET"): Row(
        lambda w: _ok_if(_visible(w, IDN) and w.acting_org.pk == w.owner.pk),
        prepare=lambda w: _consent_with_evidence(w),
        journal="consent",
        shows=frozenset({IDN}),
        because=frozenset({IDN}),
    ),
    ("/api/v1/consents/{pk}/revoke/", "POST"): Row(
        _consent_change,
        pk=lambda w: w.consent.pk,
        journal="consent",
        writes=_written(),
        because=frozenset({IDN}),
    ),
    ("/api/v1/consents/{pk}/narrow/", "POST"): Row(
        _consent_change,
        pk=lambda w: w.consent.pk,
        payload=lambda w: {"categories": [IDN]},
        journal="consent",
        writes=_written(),
        because=frozenset({IDN}),
    ),
    ("/api/v1/objections/", "GET"): Row(_always()),
    ("/api/v1/objections/", "POST"): Row(
        _objection_create,
        payload=lambda w: {"person": w.person.pk, "reason": ""},
        journal="objection",
        writes=_written(),
        because=frozenset({IDN}),
        denied_on=lambda w: ("person", w.person.pk),
    ),
    ("/api/v1/objections/{pk}/", "GET"): Row(
        lambda w: _ok_if(w.casework and w.role != Role.MANAGER and _visible(w, IDN)),
        pk=lambda w: w.objection.pk,
        journal="objection",
        shows=frozenset(),
        because=frozenset({IDN}),
    ),
    ("/api/v1/objections/{pk}/withdraw/", "POST"): Row(
        _objection_withdraw,
        prepare=_active_objection,
        journal="objection",
        writes=_written(),
        because=frozenset({IDN}),
        under_objection=True,
    ),
    ("/api/v1/care-team-members/", "GET"): Row(_always()),
    ("/api/v1/care-team-members/", "POST"): Row(
        _care_team_lead(201),
        payload=lambda w: {"pathway": w.pathway.pk, "organisation": w.newcomer.pk},
        journal="care_team_member",
        writes=_written(),
        because=frozenset({PTH}),
        denied_on=lambda w: ("pathway", w.pathway.pk),
    ),
    ("/api/v1/care-team-members/{pk}/", "GET"): Row(
        lambda w: _ok_if(_visible(w, PTH)),
        pk=lambda w: w.member.pk,
        journal="care_team_member",
        shows=frozenset(),
        because=frozenset({PTH}),
    ),
    ("/api/v1/care-team-members/{pk}/end/", "POST"): Row(
        _care_team_lead(200),
        pk=lambda w: w.member.pk,
        payload=lambda w: {"reason": "Fin"},
        journal="care_team_member",
        writes=_written(),
        because=frozenset({PTH}),
    ),
    ("/api/v1/break-glasses/", "GET"): Row(_always()),
    ("/api/v1/break-glasses/{pk}/", "GET"): Row(
        lambda w: _ok_if(w.casework and w.acting_org.pk == w.break_glass.organisation_id),
        pk=lambda w: w.break_glass.pk,
    ),
    ("/api/v1/access-requests/", "GET"): Row(_always()),
    ("/api/v1/access-requests/", "POST"): Row(
        lambda w: 201 if w.casework else 403,
        payload=lambda w: {"nir": w.person.nir, "reason": "La personne s'est présentée"},
        journal="access_request",
    ),
    ("/api/v1/access-requests/{pk}/", "GET"): Row(
        lambda w: _ok_if(_access_request_visible(w)), pk=lambda w: w.access_request.pk
    ),
    ("/api/v1/access-requests/{pk}/accept/", "POST"): Row(
        _access_request_decide,
        pk=lambda w: w.access_request.pk,
        payload=lambda w: {"comment": ""},
        journal="access_request",
    ),
    ("/api/v1/access-requests/{pk}/refuse/", "POST"): Row(
        _access_request_decide,
        pk=lambda w: w.access_request.pk,
        payload=lambda w: {"comment": ""},
        journal="access_request",
    ),
    # --- the DPO's reports and rights requests: by role, then by relation to the person/user -----
    ("/api/v1/dpo/persons/{pk}/access-report/", "GET"): directory(
        pk=lambda w: w.person.pk, expect=_dpo_of_related()
    ),
    ("/api/v1/dpo/persons/{pk}/subject-access-pack/", "POST"): directory(
        pk=lambda w: w.person.pk, expect=_dpo_of_related()
    ),
    ("/api/v1/dpo/users/{pk}/activity-report/", "GET"): directory(
        pk=lambda w: w.owner_counsellor.user.pk, expect=_dpo_of_related()
    ),
    ("/api/v1/dpo/users/", "GET"): directory(expect=_dpo()),
    # Partner systems' tokens: the acting organisation's administrators manage them.
    ("/api/v1/api-tokens/", "GET"): directory(expect=_administers(200)),
    ("/api/v1/api-tokens/", "POST"): directory(
        payload=lambda w: {
            "system_name": "Logiciel rSa",
            "scopes": ["referrals:read"],
            "role": "counsellor",
        },
        expect=_administers(201),
    ),
    ("/api/v1/api-tokens/{pk}/", "GET"): Row(_administers(200), prepare=_owner_token, record=False),
    ("/api/v1/api-tokens/{pk}/renew/", "POST"): Row(
        _administers(201), prepare=_owner_token, record=False
    ),
    ("/api/v1/api-tokens/{pk}/revoke/", "POST"): Row(
        _administers(200), prepare=_owner_token, record=False
    ),
    ("/api/v1/dpo/person-lookup/", "POST"): directory(
        payload=lambda w: {"nir": w.person.nir}, expect=_dpo()
    ),
    ("/api/v1/dpo/anomalies/", "GET"): directory(expect=_dpo()),
    ("/api/v1/statistics/referrals/", "GET"): directory(expect=_manager()),
    # The agreement indicators (issue 18): the catalogue for every member; an agreement's
    # indicators and their report for the parties' managers and administrators.
    ("/api/v1/statistics/indicators/", "GET"): directory(),
    ("/api/v1/agreements/{pk}/indicators/", "GET"): directory(
        pk=lambda w: w.agreement.pk, expect=_manages_agreements(200)
    ),
    ("/api/v1/agreements/{pk}/indicators/", "PUT"): directory(
        pk=lambda w: w.agreement.pk,
        payload=lambda w: {
            "indicators": [{"code": "show_rate", "target": "70", "period": "quarterly"}]
        },
        expect=_manages_agreements(200),
    ),
    ("/api/v1/agreements/{pk}/indicators/report/", "GET"): directory(
        pk=lambda w: w.agreement.pk, expect=_manages_agreements(200)
    ),
    # Partner systems' webhooks (issue 19): the acting organisation's administrators.
    ("/api/v1/webhook-subscriptions/", "GET"): directory(expect=_administers(200)),
    ("/api/v1/webhook-subscriptions/", "POST"): directory(
        payload=lambda w: WEBHOOK_PAYLOAD, expect=_administers(201)
    ),
    ("/api/v1/webhook-subscriptions/{pk}/", "GET"): Row(
        _administers(200), prepare=_acting_subscription, record=False
    ),
    ("/api/v1/webhook-subscriptions/{pk}/", "PUT"): Row(
        _administers(200),
        prepare=_acting_subscription,
        payload=lambda w: WEBHOOK_PAYLOAD,
        record=False,
    ),
    ("/api/v1/webhook-subscriptions/{pk}/rotate-secret/", "POST"): Row(
        _administers(201), prepare=_acting_subscription, record=False
    ),
    ("/api/v1/webhook-subscriptions/{pk}/disable/", "POST"): Row(
        _administers(200), prepare=_acting_subscription, record=False
    ),
    ("/api/v1/webhook-deliveries/", "GET"): directory(expect=_administers(200)),
    ("/api/v1/webhook-deliveries/{pk}/", "GET"): Row(
        _administers(200), prepare=_acting_delivery, record=False
    ),
    ("/api/v1/webhook-deliveries/{pk}/replay/", "POST"): Row(
        _administers(200), prepare=_acting_delivery, record=False
    ),
    ("/api/v1/territory/overdue-referrals/", "GET"): directory(expect=_coordinator_only()),
    ("/api/v1/dpo/journal-integrity/", "GET"): directory(expect=_dpo()),
    ("/api/v1/dpo/journal-integrity/verify/", "POST"): directory(expect=_dpo(202)),
    ("/api/v1/dpo/processing-register/", "GET"): directory(expect=_dpo()),
    ("/api/v1/dpo/rights-requests/", "GET"): directory(expect=_dpo()),
    ("/api/v1/dpo/rights-requests/", "POST"): directory(
        payload=lambda w: {
            "person": w.person.pk,
            "kind": "objection",
            "received_on": timezone.localdate().isoformat(),
        },
        expect=_dpo_of_related(201),
    ),
    ("/api/v1/dpo/rights-requests/{pk}/", "GET"): directory(pk=_rights_request, expect=_dpo()),
    ("/api/v1/dpo/rights-requests/{pk}/extend/", "POST"): directory(
        pk=_rights_request, payload=lambda w: {"reason": "Demande complexe"}, expect=_dpo()
    ),
    ("/api/v1/dpo/rights-requests/{pk}/decide/", "POST"): directory(
        pk=_rights_request,
        payload=lambda w: {"status": "refused", "decision": "Obligation légale de conservation"},
        expect=_dpo(),
    ),
}


# --- the action plan: built by the case workers who follow the pathway; read with the pathway
# category. The action is held by the owner here (its holder's own right: tests/action_plan).


def _plan_builder(ok: int):
    def expect(w: World) -> int:
        if not _visible(w, PTH):
            return 404
        return ok if w.is_caseworker and w.follower else 403

    return expect


def _objective(w: World) -> int:
    return ObjectiveFactory(pathway=w.pathway).pk


def _plan_action_payload(w: World) -> dict:
    w.ids["plan_objective"] = _objective(w)
    return {
        "objective": w.ids["plan_objective"],
        "label": "Atelier CV",
        "owner_organisation": w.owner.pk,
        "due_on": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
    }


ENDPOINTS |= {
    ("/api/v1/objectives/", "GET"): Row(_always()),
    ("/api/v1/objectives/", "POST"): Row(
        _plan_builder(201),
        payload=lambda w: {"pathway": w.pathway.pk, "title": "Trouver un logement"},
        journal="objective",
        writes=_written(PTH),
        denied_on=lambda w: ("pathway", w.pathway.pk),
    ),
    ("/api/v1/objectives/{pk}/", "GET"): Row(
        lambda w: _ok_if(_visible(w, PTH)),
        prepare=_objective,
        journal="objective",
        shows=frozenset({PTH}),
    ),
    ("/api/v1/objectives/{pk}/status/", "POST"): Row(
        _plan_builder(200),
        prepare=_objective,
        payload=lambda w: {"status": "achieved"},
        journal="objective",
        writes=_written(PTH),
    ),
    ("/api/v1/plan-actions/", "POST"): Row(
        _plan_builder(201),
        payload=_plan_action_payload,
        journal="plan_action",
        writes=_written(PTH),
        denied_on=lambda w: ("objective", w.ids["plan_objective"]),
    ),
    ("/api/v1/plan-actions/{pk}/status/", "POST"): Row(
        _plan_builder(200),
        prepare=lambda w: PlanActionFactory(objective__pathway=w.pathway).pk,
        payload=lambda w: {"status": "done"},
        journal="plan_action",
        writes=_written(PTH),
    ),
}


# --- the case committee (CLCVP, issue 18): sessions and proposals, answered by the gate's table
# and the committee's own scope (tests/committee/ checks their journal rows and texts).


def _coordinates(w: World, area_id: int) -> bool:
    from parcours.access import committee_area_ids

    return w.actor is not None and area_id in committee_area_ids(w.actor)


def _session(w: World) -> int:
    from parcours.models import Committee

    return Committee.objects.create(
        employment_area_id=w.owner.employment_area_id,
        meets_at=timezone.now() + dt.timedelta(days=5),
        place="Maison de l'emploi",
        created_by=w.owner_counsellor.user,
        created_by_organisation=w.owner,
        created_at=timezone.now(),
    ).pk


def _pending_proposal(w: World, scheduled: bool = False) -> int:
    from parcours.models import CommitteeProposal

    committee_id = _session(w)
    w.ids["committee"] = committee_id
    return CommitteeProposal.objects.create(
        employment_area_id=w.owner.employment_area_id,
        pathway=w.pathway,
        proposed_by=w.owner_counsellor.user,
        proposer_organisation=w.owner,
        created_at=timezone.now(),
        reason="Bloqué",
        question="Qui ?",
        summary="Résumé.",
        basis_kind="legal",
        legal_basis="legal:spe",
        status="scheduled" if scheduled else "proposed",
        committee_id=committee_id if scheduled else None,
        position=1 if scheduled else None,
    ).pk


def _session_expect(ok: int = 200):
    """A session of the owner's area, nobody invited: its coordinator only (404 otherwise)."""
    return lambda w: ok if _coordinates(w, w.owner.employment_area_id) else 404


def _proposal_reader(w: World) -> bool:
    proposer = w.actor is not None and w.acting_org.pk == w.owner.pk
    return _coordinates(w, w.owner.employment_area_id) or (
        # The proposing organisation's members whose role reads a committee's text.
        proposer and w.role in (Role.COUNSELLOR, Role.SOCIAL_WORKER, Role.MANAGER, Role.COORDINATOR)
    )


def _proposal_expect(w: World) -> int:
    return 200 if _proposal_reader(w) else 404


def _proposal_move(w: World) -> int:
    """The area's coordinator acts; the proposer reads but may not (403); others: 404."""
    if not _proposal_reader(w):
        return 404
    return 200 if _coordinates(w, w.owner.employment_area_id) else 403


def _propose(w: World) -> int:
    if not _visible(w, PTH):
        return 404
    if not (w.is_caseworker and w.follower):
        return 403
    held = {code for codes in w.expected.values() for code in codes}
    return 201 if "legal:spe" in held else 400


ENDPOINTS |= {
    ("/api/v1/committees/", "GET"): directory(),
    ("/api/v1/committees/", "POST"): directory(
        payload=lambda w: {
            "employment_area": w.acting_org.employment_area_id,
            "meets_at": (timezone.now() + dt.timedelta(days=5)).isoformat(),
            "place": "Visio",
        },
        expect=lambda w: 201 if _coordinates(w, w.acting_org.employment_area_id) else 403,
    ),
    ("/api/v1/committees/{pk}/", "GET"): Row(_session_expect(), prepare=_session, record=False),
    ("/api/v1/committees/{pk}/attendees/", "POST"): Row(
        _session_expect(),
        prepare=_session,
        payload=lambda w: {"attendees": []},
        record=False,
    ),
    ("/api/v1/committees/{pk}/cancel/", "POST"): Row(
        _session_expect(), prepare=_session, record=False
    ),
    ("/api/v1/committee-proposals/", "GET"): directory(),
    ("/api/v1/committee-proposals/", "POST"): Row(
        _propose,
        payload=lambda w: {
            "pathway": w.pathway.pk,
            "reason": "Bloqué",
            "question": "Qui ?",
            "summary": "Résumé.",
            "basis_kind": "legal",
            "legal_basis": "legal:spe",
        },
        record=False,
    ),
    ("/api/v1/committee-proposals/{pk}/", "GET"): Row(
        _proposal_expect, prepare=_pending_proposal, record=False
    ),
    ("/api/v1/committee-proposals/{pk}/schedule/", "POST"): Row(
        _proposal_move,
        prepare=_pending_proposal,
        payload=lambda w: {"committee": w.ids["committee"]},
        record=False,
    ),
    ("/api/v1/committee-proposals/{pk}/move/", "POST"): Row(
        _proposal_move,
        prepare=lambda w: _pending_proposal(w, scheduled=True),
        payload=lambda w: {"offset": 1},
        record=False,
    ),
    ("/api/v1/committee-proposals/{pk}/decline/", "POST"): Row(
        _proposal_move,
        prepare=_pending_proposal,
        payload=lambda w: {"reason": "Hors champ."},
        record=False,
    ),
    ("/api/v1/committee-proposals/{pk}/decide/", "POST"): Row(
        _proposal_move,
        prepare=lambda w: _pending_proposal(w, scheduled=True),
        payload=lambda w: {"decision": "Sans suite.", "outcome": "no_follow_up"},
        record=False,
    ),
}


def test_endpoints_table_covers_the_resolver():
    """A new endpoint (or method) not in ENDPOINTS fails here; so does a stale row."""
    resolved = resolved_endpoints()
    assert resolved, "the resolver served nothing under /api/v1/"
    assert set(ENDPOINTS) - resolved == set(), "rows for endpoints that no longer exist"
    assert resolved - set(ENDPOINTS) == set(), "endpoints missing from the permission matrix"


# --- the checks ---------------------------------------------------------------------------------


def _results(data) -> list[dict]:
    return data.get("results", []) if isinstance(data, dict) else list(data)


def _expected_keys(field_map: dict[str, str], categories, *, exclude=()) -> set[str]:
    return {f for f, c in field_map.items() if c in categories and f not in exclude} | {
        "categories"
    }


def _check_probe(w: World, row: Row, detail: bool, data) -> list[str]:
    """The exact categories shown by a category probe; returns the failures."""
    failures: list[str] = []
    expected = sorted(w.categories)
    if detail:
        rows = [data]
    else:
        rows = _results(data)
        wanted = {
            "person": _visible(w, IDN),
            "pathway": _visible(w),
            "referral": _visible(w, PTH),
        }[row.probe]
        if len(rows) != int(wanted):
            return [f"list holds {len(rows)} rows, expected {int(wanted)}"]
    for item in rows:
        if item.get("categories") != expected:
            failures.append(f"categories {item.get('categories')} != {expected}")
        keys = set(item)
        if row.probe == "person":
            want = _expected_keys(PERSON_FIELDS, w.categories)
        elif row.probe == "pathway":
            want = _expected_keys(
                PATHWAY_FIELDS, w.categories, exclude=() if detail else PATHWAY_DETAIL_ONLY
            )
        else:  # referral: the social context note and the person's identity are probed
            want = keys - {"context_note", "person"}
            want |= {"context_note"} if SOC in w.categories else set()
            want |= {"person"} if IDN in w.categories else set()
        if keys != want:
            failures.append(f"keys: missing {sorted(want - keys)}, extra {sorted(keys - want)}")
        if row.probe == "pathway" and detail and HLT not in w.categories:
            kinds = {b["kind"] for b in item.get("barriers", [])}
            if kinds & {"health", "addiction"}:
                failures.append("health barriers shown without the health category")
    return failures


def _check_journal(w: World, row: Row, method: str, pk, response, events) -> list[str]:
    """One journal row per read, write or refusal of a record (none for 400/409)."""
    if row.journal is None or w.actor is None:
        return []
    status = response.status_code
    # A file (the consent's evidence) is no DRF answer: it has no data, only its journal row.
    answered = getattr(response, "data", None)
    data = answered if isinstance(answered, dict) else {}
    if isinstance(answered, list) and len(answered) == 1:
        data = answered[0]  # the records a write made (consents/choices/: one here)
    if row.journal in ("break_glass", "access_request"):
        if status not in (200, 201):
            return []
        if len(events) != 1 or events[0].operation != row.journal:
            return [f"expected one {row.journal} row, got {[e.operation for e in events]}"]
        event = events[0]
        failures = []
        if event.object_type != "pathway" or event.object_id != w.pathway.pk:
            failures.append(f"{row.journal} row names {event.object_type} {event.object_id}")
        if row.journal == "break_glass" and event.basis != f"break_glass:{data['id']}":
            failures.append(f"break-glass basis {event.basis!r}")
        return failures

    if status in (400, 409):
        return [f"{status} journaled as {[e.operation for e in events]}"] if events else []
    if status in (403, 404):
        target = (row.journal, pk) if pk is not None else None
        if target is None and row.denied_on is not None:
            target = row.denied_on(w)
        if target is None:  # a refusal that names no record (a role, a missing one)
            return [f"{status} journaled as {[e.operation for e in events]}"] if events else []
        if len(events) != 1:
            return [f"{status}: {len(events)} journal rows, expected one refusal"]
        event = events[0]
        if (event.operation, event.object_type, event.object_id) != ("denied", *target):
            return [f"refusal journaled as {event.operation} {event.object_type} {event.object_id}"]
        return []
    shown = w.categories if row.shows is None else w.categories & row.shows
    if method == "GET" and pk is None:  # a list: one row with the ids returned, if any
        if not _results(response.data):
            return [f"empty list journaled: {events}"] if events else []
        if len(events) != 1:
            return [f"list: {len(events)} journal rows"]
        event = events[0]
        ids = [getattr(w, row.journal).pk]  # the scenario's one record of that type
        failures = []
        if event.operation != "list" or event.object_ids != ids:
            failures.append(f"list row: {event.operation} {event.object_ids}, wanted {ids}")
        if event.categories != sorted(shown):
            failures.append(f"list categories {event.categories} != {sorted(shown)}")
        if event.basis != w.basis(shown):
            failures.append(f"list basis {event.basis!r} != {w.basis(shown)!r}")
        if not event.purpose:
            failures.append("list without a purpose")
        return failures
    if len(events) != 1:
        return [f"{len(events)} journal rows for {method} ({status}), expected exactly one"]
    event = events[0]
    failures = []
    if event.object_type != row.journal:
        failures.append(f"object type {event.object_type}")
    operation = "read" if method == "GET" else "write"
    object_id = pk if pk is not None else data.get("id")
    if event.operation != operation or event.object_id != object_id or object_id is None:
        failures.append(f"journaled {event.operation} {event.object_id}, wanted {operation}")
    if method == "GET":
        categories = sorted(shown)
        justified = w.categories & row.because if row.because is not None else shown
    else:
        categories = sorted(row.writes(w)) if row.writes else []
        justified = w.categories & (row.because if row.because is not None else set(categories))
    if pk is not None or method != "GET":  # a record of the scenario: its categories and bases
        if event.categories != categories:
            failures.append(f"journal categories {event.categories} != {categories}")
        basis = w.basis(justified)
        if row.creates_pathway:  # a new pathway, held by the actor's organisation
            basis = event.basis if "legal:owner" in event.basis.split() else "legal:owner …"
        if row.under_objection:
            basis = " ".join(c for c in basis.split() if not c.startswith("consent:"))
        if event.basis != basis:
            failures.append(f"journal basis {event.basis!r} != {basis!r}")
        if not event.purpose and w.categories:
            failures.append("journaled without a purpose")
    return failures


def _request(client, method: str, url: str, payload):
    call = getattr(client, method.lower())
    return call(url, payload, format="json") if payload is not None else call(url)


class _Rollback(Exception):
    pass


def run_row(w: World, client, path: str, method: str, row: Row) -> list[str]:
    failures: list[str] = []
    try:
        with transaction.atomic():
            pk = row.prepare(w) if row.prepare else (row.pk(w) if row.pk else None)
            url = path.replace("{pk}", str(pk))
            before = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            response = _request(client, method, url, row.payload(w) if row.payload else None)
            expected = 403 if w.actor is None else row.expect(w)
            if response.status_code != expected:
                failures.append(f"status {response.status_code}, expected {expected}")
            if (
                response.status_code == 403
                and row.record
                and w.actor is not None
                and not w.categories
                and not (w.relationship and path.endswith("break-glass/"))
                and pk is not None
            ):
                failures.append("403 on a record the user may not see: 404 is due")
            if response.status_code == 200 and method == "GET" and row.probe:
                failures += _check_probe(w, row, pk is not None, response.data)
            events = list(AccessEvent.objects.filter(id__gt=before).order_by("id"))
            failures += _check_journal(w, row, method, pk, response, events)
            if response.status_code >= 500:
                failures.append(f"server error {response.content[:300]!r}")
            raise _Rollback
    except _Rollback:
        pass
    return [f"{method} {path}: {f}" for f in failures]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_permission_matrix(case: Case, client_of):
    world = build_world(case)
    client = client_of(world)
    failures: list[str] = []
    travel = time_machine.travel(timezone.now() + world.travel, tick=True) if world.travel else None
    if travel:
        travel.start()
    try:
        if world.actor is not None:  # the scenario itself, as the access module computes it
            seen = categories_for(world.actor, [world.pathway.pk])[world.pathway.pk]
            assert seen == world.categories, f"scenario set-up: sees {sorted(seen)}"
        for (path, method), row in ENDPOINTS.items():
            failures += run_row(world, client, path, method, row)
    finally:
        if travel:
            travel.stop()
    assert not failures, f"{case.name}: {len(failures)} failures\n" + "\n".join(failures)


def test_every_category_and_role_has_cases():
    """Adding a category or a role without a scenario that shows it fails here."""
    from parcours.categories import ALL_CATEGORIES

    shown = {cat for case in CASES for cat in case.expected}
    assert shown >= ALL_CATEGORIES, sorted(ALL_CATEGORIES - shown)
    assert {case.role for case in CASES} >= set(Role.values)
