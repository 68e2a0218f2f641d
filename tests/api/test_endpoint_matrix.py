"""The permission matrix of the API: every endpoint under /api/v1/, enumerated from the URL
resolver, must appear in ENDPOINTS below, and each row is checked for

* anonymous → 401 with a WWW-Authenticate challenge;
* authenticated without (active) membership → 403;
* a member allowed to act → the success status (the "allow" test);
* detail routes: an unknown id, a non-numeric id and an out-of-range id → 404;
* detail routes of scoped records (persons, pathways, referrals, appointments, agreements,
  consents, objections, care-team members, break-glasses, access requests and the POST actions
  on them): a record of an unrelated organisation → 404 (never 403), and the record is left
  untouched (for agreements, every party's answer too).

Adding an endpoint without adding its row here fails `test_every_endpoint_is_in_the_matrix`.
"""

import copy
import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from notifications.models import Alert, AnswerNotice
from parcours.actor import Actor
from parcours.api import serializers
from parcours.models import (
    AccessRequest,
    Agreement,
    AgreementParty,
    ApiToken,
    Appointment,
    BreakGlass,
    CareTeamMember,
    Committee,
    CommitteeProposal,
    Consent,
    Objection,
    Objective,
    Pathway,
    PathwayEvent,
    Person,
    PlanAction,
    ReceiverLink,
    Referral,
    ReferralMessage,
    ReferralStatus,
    RightsRequest,
    Role,
)
from tests.worlds import built_once

from ..factories import (
    AgreementFactory,
    AnswerNoticeFactory,
    AppointmentFactory,
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    PlanActionFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookSubscriptionFactory,
    api_token_for,
    real_pdf,
    valid_nir,
    with_evidence,
)
from .conftest import build_world

API_PREFIX = "/api/v1/"
NOT_FOUND = "Non trouvé."  # the same French answer for missing and out of scope
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """The API's world (tests/api/conftest.py) built once for the module (tests/worlds.py): its
    thousand tests each built it again, most of what a refused request's test cost."""
    with built_once(django_db_blocker):
        yield build_world()


@pytest.fixture
def world(world_template, db):
    """Each test's own copy, its writes (the row's records, the request's) rolled back after it."""
    return copy.deepcopy(world_template)


# --- enumerating the resolver ---------------------------------------------------------------------


def _template(pattern: str) -> str:
    """`^persons/(?P<pk>[^/.]+)/$` (a router regex) or `me/` (a route) → `persons/{pk}/`."""
    pattern = pattern.removeprefix("^").removesuffix("$")
    pattern = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)  # regex groups
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)  # route converters


def _methods(callback) -> set[str]:
    view_class = getattr(callback, "cls", None) or callback.view_class
    allowed = {m.upper() for m in view_class.http_method_names}
    actions = getattr(callback, "actions", None)  # a ViewSet bound to a method → action map
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
    """Every (path, method) the URL resolver serves under /api/v1/ (format-suffix variants of
    the same views, `persons.json`, are the same endpoints and are left out)."""
    endpoints = set()
    for template, callback in _walk(get_resolver().url_patterns, "/"):
        if not template.startswith(API_PREFIX) or "{format}" in template:
            continue
        for method in _methods(callback):
            endpoints.add((template, method))
    return endpoints


# --- the matrix -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """`own(world)` builds what a member needs to succeed: (actor, pk or None, payload).
    `foreign(world)` builds a record of the same category owned by unrelated organisations
    (only for scoped categories): (model, pk)."""

    own: Callable
    ok: int = 200
    foreign: Callable | None = None

    def payload(self, world):
        return self.own(world)[2]


def _soon() -> str:
    return (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0).isoformat()


# Builders of the allow case --------------------------------------------------------------------


def _coordinator(world):
    """A territorial coordinator of `home`'s organisation covering home's and the SIAE's areas."""
    membership = MembershipFactory(organisation=world.home, role=Role.COORDINATOR)
    membership.employment_areas.set([world.home.employment_area, world.siae.employment_area])
    return Actor(user=membership.user, organisation=world.home, role=Role.COORDINATOR), None, None


def _as_me(world):
    return world.me, None, None


def _own_pathway(world):
    return PathwayFactory(owner_organisation=world.home)


def _incoming(world, **traits):
    """A referral from an unrelated organisation to `home`, in the state given by a trait."""
    return ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.elsewhere),
        receiver_organisation=world.home,
        **traits,
    )


def _outgoing(world, **traits):
    return ReferralFactory(pathway=_own_pathway(world), receiver_organisation=world.siae, **traits)


def _proposed_for_transfer(world):
    """Sent by home; the SIAE proposes another partner, whom the person consented to."""
    referral = _outgoing(world, transfer_proposed=True)
    _consent_of(referral.pathway, referral.transfer_organisation)
    return referral


def _pathway_action(payload: Callable):
    return lambda world: (world.me, _own_pathway(world).pk, payload(world))


def _incoming_action(payload: dict | None = None, **traits):
    return lambda world: (world.me, _incoming(world, **traits).pk, payload)


def _outgoing_action(payload: dict | None = None, **traits):
    return lambda world: (world.me, _outgoing(world, **traits).pk, payload)


def _to_ccas(world):
    """Sent by home to a CCAS without accounts (issue 19: a receiver's link is for it)."""
    return ReferralFactory(
        pathway=_own_pathway(world), receiver_organisation=OrganisationFactory(), sent=True
    )


def _with_receiver_link(referral):
    """`referral` (or its id) with a link in force."""
    referral = referral if isinstance(referral, Referral) else Referral.objects.get(pk=referral)
    ReceiverLink.objects.create(
        referral=referral,
        organisation_id=referral.receiver_organisation_id,
        token_hash=secrets.token_hex(32),
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    return referral


def _alert_about(referral):
    now = timezone.now()
    return Alert.objects.create(
        referral=referral, kind="unanswered", level=1, due_at=now, created_at=now
    )


def _own_alert(world):
    return world.me, _alert_about(_outgoing(world, sent=True)).pk, None


def _own_answer(world):
    """The receiver's acceptance of a referral `me` sent, told to `me` (issue 14)."""
    referral = _outgoing(world, accepted=True, sender_user=world.me.user)
    return world.me, AnswerNoticeFactory(referral=referral, recipient=world.me.user).pk, None


def _home_admin(world) -> Actor:
    membership = MembershipFactory(organisation=world.home, role=Role.ADMIN)
    return Actor(user=membership.user, organisation=world.home, role=Role.ADMIN)


def _own_token(world):
    """An administrator of home and one of home's partner-system tokens (issue 15)."""
    return _home_admin(world), api_token_for(world.me)[0].pk, None


def _subscription_of(organisation):
    return WebhookSubscriptionFactory(organisation=organisation)


def _delivery_of(organisation):
    return WebhookDeliveryFactory(subscription__organisation=organisation)


def _own_subscription(world):
    """An administrator of home and one of home's webhook subscriptions (issue 19)."""
    return _home_admin(world), _subscription_of(world.home).pk, None


def _own_delivery(world):
    return _home_admin(world), _delivery_of(world.home).pk, None


WEBHOOK_PAYLOAD = {
    "url": "https://partenaire.example.org/webhooks",
    "description": "Logiciel rSa",
    "events": ["referral.sent", "referral.closed"],
}


# Builders of unrelated records (home is no party to them) -------------------------------------


def _foreign_subscription(world):
    from parcours.models import WebhookSubscription

    return WebhookSubscription, _subscription_of(world.stranger.organisation).pk


def _foreign_delivery(world):
    from parcours.models import WebhookDelivery

    return WebhookDelivery, _delivery_of(world.stranger.organisation).pk


def _foreign_token(world):
    return ApiToken, api_token_for(world.stranger)[0].pk


def _foreign_answer(world):
    _model, referral_id = _foreign_referral(accepted=True)(world)
    return AnswerNotice, AnswerNoticeFactory(referral=Referral.objects.get(pk=referral_id)).pk


def _foreign_alert(world):
    _model, referral_id = _foreign_referral(sent=True)(world)
    return Alert, _alert_about(Referral.objects.get(pk=referral_id)).pk


def _foreign_pathway(world):
    return Pathway, PathwayFactory(owner_organisation=world.elsewhere).pk


def _foreign_person(world):
    return Person, PathwayFactory(owner_organisation=world.elsewhere).person_id


def _foreign_referral(**traits):
    def build(world):
        referral = ReferralFactory(
            pathway=PathwayFactory(owner_organisation=world.elsewhere),
            receiver_organisation=world.siae,
            **traits,
        )
        return Referral, referral.pk

    return build


def _past_appointment(referral):
    """An appointment that has begun: whether the person came may be recorded (issue 13)."""
    return AppointmentFactory(referral=referral, starts_at=timezone.now() - dt.timedelta(hours=1))


def _foreign_appointment(world):
    referral = ReferralFactory(
        appointment_set=True,
        pathway=PathwayFactory(owner_organisation=world.elsewhere),
        receiver_organisation=world.siae,
    )
    return Appointment, AppointmentFactory(referral=referral).pk


def _foreign_agreement(world):
    return Agreement, AgreementFactory(parties=[world.elsewhere, world.siae]).pk


def _own_agreement(world, actor):
    agreement = AgreementFactory(parties=[world.home, world.siae])
    return actor, agreement.pk, None


def _agreement_awaiting_home(world):
    """Proposed by the SIAE: home has not answered yet."""
    return AgreementFactory(parties=[world.home, world.siae], parties__pending=[world.home]).pk


# The person's choices and access mechanics ---------------------------------------------------


def _consent_of(pathway, organisation):
    """A consent of the pathway's person for `organisation` to see identity and pathway."""
    return ConsentFactory(person=pathway.person, organisations=[organisation])


def _own_pathway_consented_to(world, organisation):
    """An SIAE has no legal basis: the person consents to it before being referred there."""
    pathway = _own_pathway(world)
    _consent_of(pathway, organisation)
    return pathway


def _own_consent(world):
    """Collected by my organisation (a partner reads the consents that concern it)."""
    return ConsentFactory(
        person=_own_pathway(world).person,
        organisations=[world.siae],
        collected_by_organisation=world.home,
    ).pk


def _foreign_consent(world):
    return Consent, _consent_of(PathwayFactory(owner_organisation=world.elsewhere), world.siae).pk


def _with_evidence(consent_id: int) -> int:
    """The consent with its signed form (a real PDF, kept encrypted)."""
    return with_evidence(Consent.objects.get(pk=consent_id)).pk


def _objection_on(pathway):
    return Objection.objects.create(
        person=pathway.person,
        recorded_at=timezone.now(),
        recorded_by=UserFactory(),
        reason="La personne refuse tout partage fondé sur son accord.",
    )


def _foreign_objection(world):
    return Objection, _objection_on(PathwayFactory(owner_organisation=world.elsewhere)).pk


def _own_care_team_member(world):
    return CareTeamMemberFactory(pathway=_own_pathway(world), organisation=world.siae).pk


def _foreign_care_team_member(world):
    member = CareTeamMemberFactory(
        pathway=PathwayFactory(owner_organisation=world.elsewhere), organisation=world.siae
    )
    return CareTeamMember, member.pk


def _break_glass_of(pathway, actor):
    return BreakGlass.objects.create(
        pathway=pathway,
        user=actor.user,
        organisation=actor.organisation,
        category="health",
        reason="Urgence signalée par la personne elle-même",
        starts_at=timezone.now(),
        ends_at=timezone.now() + dt.timedelta(hours=4),
    )


def _foreign_break_glass(world):
    pathway = PathwayFactory(owner_organisation=world.elsewhere)
    return BreakGlass, _break_glass_of(pathway, world.stranger).pk


def _access_request(pathway, organisation):
    return AccessRequest.objects.create(
        pathway=pathway,
        requesting_organisation=organisation,
        requested_by=UserFactory(),
        reason="La personne s'est présentée à notre accueil.",
    )


def _incoming_access_request(world):
    """A pending request from the SIAE to join the care team of a pathway `home` owns."""
    return _access_request(_own_pathway(world), world.siae).pk


def _foreign_access_request(world):
    pathway = PathwayFactory(owner_organisation=world.elsewhere)
    return AccessRequest, _access_request(pathway, world.siae).pk


def _access_request_payload(world):
    """Ask for a person followed elsewhere, found by NIR (home has no relationship with it)."""
    person = PersonFactory(nir=valid_nir(77))
    PathwayFactory(person=person, owner_organisation=world.elsewhere)
    return {"nir": person.nir, "reason": "La personne s'est présentée à notre accueil."}


BREAK_GLASS = {"category": "health", "reason": "Urgence médicale signalée par la personne."}


# The DPO's reports and rights requests -------------------------------------------------------


def _rights_request_of(organisation, person_id):
    return RightsRequest.objects.create(
        person_id=person_id,
        organisation=organisation,
        kind="erasure",
        received_on=timezone.localdate(),
        due_on=timezone.localdate() + dt.timedelta(days=30),
        recorded_by=UserFactory(),
    )


def _own_rights_request(world):
    return world.dpo, _rights_request_of(world.home, _own_pathway(world).person_id).pk


def _foreign_rights_request(world):
    person_id = PathwayFactory(owner_organisation=world.elsewhere).person_id
    return RightsRequest, _rights_request_of(world.elsewhere, person_id).pk


def _foreign_user(world):
    return User, world.stranger.user.pk


def _lookup_payload(world):
    person = PersonFactory(nir=valid_nir(78))
    PathwayFactory(person=person, owner_organisation=world.home)
    return {"nir": person.nir}


NEW_PERSON = {"first_name": "Léa", "last_name": "Martin", "birth_date": "2001-03-04"}

ENDPOINTS: dict[tuple[str, str], Row] = {
    ("/api/v1/", "GET"): Row(own=_as_me),
    ("/api/v1/me/", "GET"): Row(own=_as_me),
    ("/api/v1/me/notification-preference/", "GET"): Row(own=_as_me),
    ("/api/v1/me/notification-preference/", "PUT"): Row(
        own=lambda w: (w.me, None, {"mode": "digest"})
    ),
    # Alerts about referrals home sent or received; acknowledging one.
    ("/api/v1/alerts/", "GET"): Row(own=_as_me),
    ("/api/v1/alerts/{pk}/", "GET"): Row(own=_own_alert, foreign=_foreign_alert),
    ("/api/v1/alerts/{pk}/acknowledge/", "POST"): Row(own=_own_alert, foreign=_foreign_alert),
    ("/api/v1/answers/", "GET"): Row(own=_as_me),
    ("/api/v1/answers/{pk}/", "GET"): Row(own=_own_answer, foreign=_foreign_answer),
    ("/api/v1/answers/{pk}/seen/", "POST"): Row(own=_own_answer, foreign=_foreign_answer),
    ("/api/v1/me/acting-organisation/", "POST"): Row(
        own=lambda w: (w.me, None, {"organisation": w.home.pk})
    ),
    # The partner directory is shared by every member: only unknown ids are 404.
    ("/api/v1/employment-areas/", "GET"): Row(own=_as_me),
    ("/api/v1/employment-areas/{pk}/", "GET"): Row(
        own=lambda w: (w.me, w.elsewhere.employment_area_id, None)
    ),
    ("/api/v1/organisations/", "GET"): Row(own=_as_me),
    ("/api/v1/organisations/{pk}/", "GET"): Row(own=lambda w: (w.me, w.elsewhere.pk, None)),
    ("/api/v1/services/", "GET"): Row(own=_as_me),
    ("/api/v1/services/{pk}/", "GET"): Row(
        own=lambda w: (w.me, ServiceFactory(organisation=w.siae).pk, None)
    ),
    # Persons and pathways.
    ("/api/v1/persons/", "GET"): Row(own=_as_me),
    ("/api/v1/persons/", "POST"): Row(own=lambda w: (w.me, None, NEW_PERSON), ok=201),
    ("/api/v1/persons/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _own_pathway(w).person_id, None), foreign=_foreign_person
    ),
    ("/api/v1/persons/{pk}/", "PATCH"): Row(
        own=lambda w: (w.me, _own_pathway(w).person_id, {"city": "Arras"}),
        foreign=_foreign_person,
    ),
    ("/api/v1/pathways/", "GET"): Row(own=_as_me),
    ("/api/v1/pathways/{pk}/", "GET"): Row(
        own=_pathway_action(lambda w: None), foreign=_foreign_pathway
    ),
    ("/api/v1/pathways/{pk}/timeline/", "GET"): Row(
        own=_pathway_action(lambda w: None), foreign=_foreign_pathway
    ),
    ("/api/v1/pathways/{pk}/notes/", "POST"): Row(
        own=_pathway_action(lambda w: {"text": "Premier entretien réalisé."}),
        ok=201,
        foreign=_foreign_pathway,
    ),
    ("/api/v1/pathways/{pk}/modality/", "POST"): Row(
        own=_pathway_action(lambda w: {"modality": "renforce"}), foreign=_foreign_pathway
    ),
    ("/api/v1/pathways/{pk}/referent/", "POST"): Row(
        own=_pathway_action(lambda w: {"referent": w.me.user.pk}), foreign=_foreign_pathway
    ),
    ("/api/v1/pathways/{pk}/barriers/", "POST"): Row(
        own=_pathway_action(lambda w: {"kind": "mobility", "detail": "Pas de permis"}),
        foreign=_foreign_pathway,
    ),
    ("/api/v1/pathways/{pk}/close/", "POST"): Row(
        own=_pathway_action(lambda w: {"outcome": "job"}), foreign=_foreign_pathway
    ),
    ("/api/v1/pathways/{pk}/diagnostic/", "GET"): Row(
        own=_pathway_action(lambda w: None), foreign=_foreign_pathway
    ),
    ("/api/v1/pathways/{pk}/diagnostic/", "POST"): Row(
        own=_pathway_action(
            lambda w: {"domain": "housing", "text": "Hébergée chez un tiers", "level": "blocking"}
        ),
        ok=201,
        foreign=_foreign_pathway,
    ),
    # Referrals and their moves (allow case: home is the party the transitions table names).
    ("/api/v1/referrals/", "GET"): Row(own=_as_me),
    ("/api/v1/referrals/", "POST"): Row(
        own=lambda w: (
            w.me,
            None,
            {
                "pathway": _own_pathway_consented_to(w, w.siae).pk,
                "receiver_organisation": w.siae.pk,
                "kind": "substitution",
                "reason": "Accès à un chantier d'insertion",
            },
        ),
        ok=201,
    ),
    ("/api/v1/referrals/{pk}/", "GET"): Row(
        own=_incoming_action(sent=True), foreign=_foreign_referral(sent=True)
    ),
    ("/api/v1/referrals/{pk}/send/", "POST"): Row(
        own=_outgoing_action(), foreign=_foreign_referral()
    ),
    ("/api/v1/referrals/{pk}/withdraw/", "POST"): Row(
        own=_outgoing_action({"comment": "Erreur de saisie"}, sent=True),
        foreign=_foreign_referral(sent=True),
    ),
    ("/api/v1/referrals/{pk}/accept/", "POST"): Row(
        own=_incoming_action(sent=True), foreign=_foreign_referral(sent=True)
    ),
    ("/api/v1/referrals/{pk}/refuse/", "POST"): Row(
        own=_incoming_action({"refusal_reason": "no_capacity"}, sent=True),
        foreign=_foreign_referral(sent=True),
    ),
    ("/api/v1/referrals/{pk}/set-appointment/", "POST"): Row(
        own=lambda w: (w.me, _incoming(w, accepted=True).pk, {"starts_at": _soon()}),
        foreign=_foreign_referral(accepted=True),
    ),
    ("/api/v1/referrals/{pk}/record-attendance/", "POST"): Row(
        own=lambda w: (
            w.me,
            _past_appointment(_incoming(w, appointment_set=True)).referral_id,
            None,
        ),
        foreign=_foreign_referral(appointment_set=True),
    ),
    ("/api/v1/referrals/{pk}/record-no-show/", "POST"): Row(
        own=lambda w: (
            w.me,
            _past_appointment(_incoming(w, appointment_set=True)).referral_id,
            None,
        ),
        foreign=_foreign_referral(appointment_set=True),
    ),
    ("/api/v1/referrals/{pk}/close/", "POST"): Row(
        own=_incoming_action({"outcome": "support_started"}, attended=True),
        foreign=_foreign_referral(attended=True),
    ),
    ("/api/v1/referrals/{pk}/correct-attendance/", "POST"): Row(
        own=lambda w: (
            w.me,
            _incoming(
                w,
                no_show=True,
                attendance_recorded_by=w.me.user,
                attendance_correctable_until=timezone.now() + dt.timedelta(days=2),
            ).pk,
            {"reason": "Erreur de saisie : la personne est venue"},
        ),
        foreign=_foreign_referral(no_show=True),
    ),
    # Réorientation: the receiver proposes another partner, the sender confirms or declines.
    ("/api/v1/referrals/{pk}/propose-transfer/", "POST"): Row(
        own=lambda w: (
            w.me,
            _incoming(w, sent=True).pk,
            {
                "receiver_organisation": OrganisationFactory(siae=True).pk,
                "reason": "Un chantier plus proche du domicile",
            },
        ),
        foreign=_foreign_referral(sent=True),
    ),
    ("/api/v1/referrals/{pk}/confirm-transfer/", "POST"): Row(
        own=lambda w: (w.me, _proposed_for_transfer(w).pk, None),
        foreign=_foreign_referral(transfer_proposed=True),
    ),
    ("/api/v1/referrals/{pk}/decline-transfer/", "POST"): Row(
        own=lambda w: (w.me, _proposed_for_transfer(w).pk, {"comment": ""}),
        foreign=_foreign_referral(transfer_proposed=True),
    ),
    # The receiving team: home's manager hands a referral home received to its counsellor.
    ("/api/v1/referrals/{pk}/assign/", "POST"): Row(
        own=lambda w: (w.manager, _incoming(w, sent=True).pk, {"user": w.me.user.pk}),
        foreign=_foreign_referral(sent=True),
    ),
    # The thread between a referral's two parties (home received this one).
    ("/api/v1/referrals/{pk}/messages/", "GET"): Row(
        own=_incoming_action(sent=True), foreign=_foreign_referral(sent=True)
    ),
    ("/api/v1/referrals/{pk}/messages/", "POST"): Row(
        own=_incoming_action({"text": "La personne a-t-elle le permis ?"}, sent=True),
        ok=201,
        foreign=_foreign_referral(sent=True),
    ),
    # The link of a receiver without an account (issue 19): its state, its sender's revocation
    # and new link.
    ("/api/v1/referrals/{pk}/receiver-link/", "GET"): Row(
        own=_outgoing_action(sent=True), foreign=_foreign_referral(sent=True)
    ),
    ("/api/v1/referrals/{pk}/receiver-link/revoke/", "POST"): Row(
        own=lambda w: (w.me, _with_receiver_link(_to_ccas(w)).pk, None),
        foreign=lambda w: (Referral, _with_receiver_link(_foreign_referral(sent=True)(w)[1]).pk),
    ),
    ("/api/v1/referrals/{pk}/receiver-link/issue/", "POST"): Row(
        own=lambda w: (w.me, _to_ccas(w).pk, None), ok=201, foreign=_foreign_referral(sent=True)
    ),
    # Appointments (read-only; written through the referral moves).
    ("/api/v1/appointments/", "GET"): Row(own=_as_me),
    ("/api/v1/appointments/{pk}/", "GET"): Row(
        own=lambda w: (
            w.me,
            AppointmentFactory(referral=_incoming(w, appointment_set=True)).pk,
            None,
        ),
        foreign=_foreign_appointment,
    ),
    # Agreements: parties see them; their managers propose and change them.
    ("/api/v1/agreements/", "GET"): Row(own=_as_me),
    ("/api/v1/agreements/", "POST"): Row(
        own=lambda w: (
            w.manager,
            None,
            {
                "name": "Convention locale d'orientation",
                "level": "local",
                "parties": [w.home.pk, w.siae.pk],
                "starts_on": "2025-01-01",
            },
        ),
        ok=201,
    ),
    ("/api/v1/agreements/{pk}/", "GET"): Row(
        own=lambda w: _own_agreement(w, w.me), foreign=_foreign_agreement
    ),
    ("/api/v1/agreements/{pk}/", "PATCH"): Row(
        own=lambda w: (*_own_agreement(w, w.manager)[:2], {"name": "Convention révisée"}),
        foreign=_foreign_agreement,
    ),
    # Each party answers for itself (its manager or administrator).
    ("/api/v1/agreements/{pk}/accept/", "POST"): Row(
        own=lambda w: (w.manager, _agreement_awaiting_home(w), None), foreign=_foreign_agreement
    ),
    ("/api/v1/agreements/{pk}/decline/", "POST"): Row(
        own=lambda w: (*_own_agreement(w, w.manager)[:2], {"reason": "Projet abandonné"}),
        foreign=_foreign_agreement,
    ),
    # The person's consents and objections: recorded by those who see the person's identity.
    ("/api/v1/consents/", "GET"): Row(own=_as_me),
    ("/api/v1/consents/", "POST"): Row(
        own=lambda w: (
            w.me,
            None,
            {
                "person": _own_pathway(w).person_id,
                "organisations": [w.siae.pk],
                "categories": ["identity", "pathway"],
                "purpose": "Orientation vers un chantier d'insertion",
                "evidence_kind": "oral",
            },
        ),
        ok=201,
    ),
    ("/api/v1/consents/choices/", "POST"): Row(
        own=lambda w: (
            w.me,
            None,
            {
                "person": _own_pathway(w).person_id,
                "choices": [
                    {"category": "identity", "organisations": [w.siae.pk]},
                    {"category": "pathway", "organisations": [w.siae.pk]},
                    {"category": "social", "organisation_kinds": ["departement"]},
                ],
                "purpose": "Orientation vers un chantier d'insertion",
                "evidence_kind": "oral",
            },
        ),
        ok=201,
    ),
    ("/api/v1/consents/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _own_consent(w), None), foreign=_foreign_consent
    ),
    # Its signed form: the consent's read rule (a stranger's consent is not found).
    ("/api/v1/consents/{pk}/evidence/", "GET"): Row(
        own=lambda w: (w.me, _with_evidence(_own_consent(w)), None),
        foreign=lambda w: (Consent, _with_evidence(_foreign_consent(w)[1])),
    ),
    ("/api/v1/consents/{pk}/revoke/", "POST"): Row(
        own=lambda w: (w.me, _own_consent(w), None), foreign=_foreign_consent
    ),
    ("/api/v1/consents/{pk}/narrow/", "POST"): Row(
        own=lambda w: (w.me, _own_consent(w), {"categories": ["identity"]}),
        foreign=_foreign_consent,
    ),
    ("/api/v1/objections/", "GET"): Row(own=_as_me),
    ("/api/v1/objections/", "POST"): Row(
        own=lambda w: (w.me, None, {"person": _own_pathway(w).person_id, "reason": "Refus"}),
        ok=201,
    ),
    ("/api/v1/objections/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _objection_on(_own_pathway(w)).pk, None), foreign=_foreign_objection
    ),
    ("/api/v1/objections/{pk}/withdraw/", "POST"): Row(
        own=lambda w: (w.me, _objection_on(_own_pathway(w)).pk, None), foreign=_foreign_objection
    ),
    # Care team: managed by the organisation that holds the pathway.
    ("/api/v1/care-team-members/", "GET"): Row(own=_as_me),
    ("/api/v1/care-team-members/", "POST"): Row(
        own=lambda w: (w.me, None, {"pathway": _own_pathway(w).pk, "organisation": w.siae.pk}),
        ok=201,
    ),
    ("/api/v1/care-team-members/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _own_care_team_member(w), None), foreign=_foreign_care_team_member
    ),
    ("/api/v1/care-team-members/{pk}/end/", "POST"): Row(
        own=lambda w: (w.me, _own_care_team_member(w), {"reason": "Fin de l'accompagnement"}),
        foreign=_foreign_care_team_member,
    ),
    # Break-glass: opened on a pathway the organisation works with, listed to that organisation.
    ("/api/v1/break-glasses/", "GET"): Row(own=_as_me),
    ("/api/v1/break-glasses/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _break_glass_of(_own_pathway(w), w.me).pk, None),
        foreign=_foreign_break_glass,
    ),
    ("/api/v1/pathways/{pk}/break-glass/", "POST"): Row(
        own=_pathway_action(lambda w: BREAK_GLASS), ok=201, foreign=_foreign_pathway
    ),
    # Access requests: made by anyone doing casework, decided by the record's owner.
    ("/api/v1/access-requests/", "GET"): Row(own=_as_me),
    ("/api/v1/access-requests/", "POST"): Row(
        own=lambda w: (w.me, None, _access_request_payload(w)), ok=201
    ),
    ("/api/v1/access-requests/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _incoming_access_request(w), None), foreign=_foreign_access_request
    ),
    ("/api/v1/access-requests/{pk}/accept/", "POST"): Row(
        own=lambda w: (w.me, _incoming_access_request(w), {"comment": "Bienvenue"}),
        foreign=_foreign_access_request,
    ),
    ("/api/v1/access-requests/{pk}/refuse/", "POST"): Row(
        own=lambda w: (w.me, _incoming_access_request(w), {"comment": "Déjà suivie"}),
        foreign=_foreign_access_request,
    ),
    # The DPO's reports: people and users related to the DPO's organisation; rights requests it
    # received.
    ("/api/v1/dpo/persons/{pk}/access-report/", "GET"): Row(
        own=lambda w: (w.dpo, _own_pathway(w).person_id, None), foreign=_foreign_person
    ),
    ("/api/v1/dpo/persons/{pk}/subject-access-pack/", "POST"): Row(
        own=lambda w: (w.dpo, _own_pathway(w).person_id, None), foreign=_foreign_person
    ),
    ("/api/v1/dpo/users/", "GET"): Row(own=lambda w: (w.dpo, None, None)),
    # Partner systems' tokens: home's administrators manage home's.
    ("/api/v1/api-tokens/", "GET"): Row(own=lambda w: (_home_admin(w), None, None)),
    ("/api/v1/api-tokens/", "POST"): Row(
        own=lambda w: (
            _home_admin(w),
            None,
            {"system_name": "Logiciel rSa", "scopes": ["referrals:read"], "role": "counsellor"},
        ),
        ok=201,
    ),
    ("/api/v1/api-tokens/{pk}/", "GET"): Row(own=_own_token, foreign=_foreign_token),
    ("/api/v1/api-tokens/{pk}/renew/", "POST"): Row(own=_own_token, ok=201, foreign=_foreign_token),
    ("/api/v1/api-tokens/{pk}/revoke/", "POST"): Row(own=_own_token, foreign=_foreign_token),
    # Webhooks: home's administrators manage home's subscriptions and read their log.
    ("/api/v1/webhook-subscriptions/", "GET"): Row(own=lambda w: (_home_admin(w), None, None)),
    ("/api/v1/webhook-subscriptions/", "POST"): Row(
        own=lambda w: (_home_admin(w), None, WEBHOOK_PAYLOAD), ok=201
    ),
    ("/api/v1/webhook-subscriptions/{pk}/", "GET"): Row(
        own=_own_subscription, foreign=_foreign_subscription
    ),
    ("/api/v1/webhook-subscriptions/{pk}/", "PUT"): Row(
        own=lambda w: (*_own_subscription(w)[:2], WEBHOOK_PAYLOAD), foreign=_foreign_subscription
    ),
    ("/api/v1/webhook-subscriptions/{pk}/rotate-secret/", "POST"): Row(
        own=_own_subscription, ok=201, foreign=_foreign_subscription
    ),
    ("/api/v1/webhook-subscriptions/{pk}/disable/", "POST"): Row(
        own=_own_subscription, foreign=_foreign_subscription
    ),
    ("/api/v1/webhook-deliveries/", "GET"): Row(own=lambda w: (_home_admin(w), None, None)),
    ("/api/v1/webhook-deliveries/{pk}/", "GET"): Row(own=_own_delivery, foreign=_foreign_delivery),
    ("/api/v1/webhook-deliveries/{pk}/replay/", "POST"): Row(
        own=_own_delivery, foreign=_foreign_delivery
    ),
    ("/api/v1/dpo/users/{pk}/activity-report/", "GET"): Row(
        own=lambda w: (w.dpo, w.me.user.pk, None), foreign=_foreign_user
    ),
    ("/api/v1/dpo/person-lookup/", "POST"): Row(own=lambda w: (w.dpo, None, _lookup_payload(w))),
    ("/api/v1/dpo/anomalies/", "GET"): Row(own=lambda w: (w.dpo, None, None)),
    # The managers' statistics (issue 18): aggregates, no record, hence no foreign case.
    ("/api/v1/statistics/referrals/", "GET"): Row(own=lambda w: (w.manager, None, None)),
    # The agreement indicators (issue 18): the catalogue for every member; an agreement's
    # indicators and report for its parties' managers and administrators.
    ("/api/v1/statistics/indicators/", "GET"): Row(own=_as_me),
    ("/api/v1/agreements/{pk}/indicators/", "GET"): Row(
        own=lambda w: _own_agreement(w, w.manager), foreign=_foreign_agreement
    ),
    ("/api/v1/agreements/{pk}/indicators/", "PUT"): Row(
        own=lambda w: (
            *_own_agreement(w, w.manager)[:2],
            {"indicators": [{"code": "show_rate", "target": "70", "period": "quarterly"}]},
        ),
        foreign=_foreign_agreement,
    ),
    ("/api/v1/agreements/{pk}/indicators/report/", "GET"): Row(
        own=lambda w: _own_agreement(w, w.manager), foreign=_foreign_agreement
    ),
    # The coordinator's overdue referrals (issue 18): no record named, hence no foreign case.
    ("/api/v1/territory/overdue-referrals/", "GET"): Row(own=_coordinator),
    ("/api/v1/dpo/journal-integrity/", "GET"): Row(own=lambda w: (w.dpo, None, None)),
    ("/api/v1/dpo/journal-integrity/verify/", "POST"): Row(
        own=lambda w: (w.dpo, None, None), ok=202
    ),
    ("/api/v1/dpo/processing-register/", "GET"): Row(own=lambda w: (w.dpo, None, None)),
    ("/api/v1/dpo/rights-requests/", "GET"): Row(own=lambda w: (w.dpo, None, None)),
    ("/api/v1/dpo/rights-requests/", "POST"): Row(
        own=lambda w: (
            w.dpo,
            None,
            {
                "person": _own_pathway(w).person_id,
                "kind": "objection",
                "received_on": timezone.localdate().isoformat(),
            },
        ),
        ok=201,
    ),
    ("/api/v1/dpo/rights-requests/{pk}/", "GET"): Row(
        own=lambda w: (*_own_rights_request(w), None), foreign=_foreign_rights_request
    ),
    ("/api/v1/dpo/rights-requests/{pk}/extend/", "POST"): Row(
        own=lambda w: (*_own_rights_request(w), {"reason": "Demande complexe"}),
        foreign=_foreign_rights_request,
    ),
    ("/api/v1/dpo/rights-requests/{pk}/decide/", "POST"): Row(
        own=lambda w: (
            *_own_rights_request(w),
            {"status": "refused", "decision": "Obligation légale de conservation"},
        ),
        foreign=_foreign_rights_request,
    ),
}

# The action plan: objectives (with their actions) and actions of a pathway `home` holds; the
# same on a pathway of an unrelated organisation.


def _own_plan_action(world):
    return PlanActionFactory(objective__pathway=_own_pathway(world))


def _foreign_plan_action(world):
    return PlanActionFactory(objective__pathway=PathwayFactory(owner_organisation=world.elsewhere))


ENDPOINTS |= {
    ("/api/v1/objectives/", "GET"): Row(own=_as_me),
    ("/api/v1/objectives/", "POST"): Row(
        own=lambda w: (w.me, None, {"pathway": _own_pathway(w).pk, "title": "Logement"}),
        ok=201,
    ),
    ("/api/v1/objectives/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _own_plan_action(w).objective_id, None),
        foreign=lambda w: (Objective, _foreign_plan_action(w).objective_id),
    ),
    ("/api/v1/objectives/{pk}/status/", "POST"): Row(
        own=lambda w: (w.me, _own_plan_action(w).objective_id, {"status": "achieved"}),
        foreign=lambda w: (Objective, _foreign_plan_action(w).objective_id),
    ),
    ("/api/v1/plan-actions/", "POST"): Row(
        own=lambda w: (
            w.me,
            None,
            {
                "objective": _own_plan_action(w).objective_id,
                "label": "Atelier CV",
                "owner_organisation": w.home.pk,
                "due_on": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
            },
        ),
        ok=201,
    ),
    ("/api/v1/plan-actions/{pk}/status/", "POST"): Row(
        own=lambda w: (w.me, _own_plan_action(w).pk, {"status": "done"}),
        foreign=lambda w: (PlanAction, _foreign_plan_action(w).pk),
    ),
}


# The case committee (CLCVP): the coordinator of home's employment area runs the sessions; a
# proposal of home's counsellor on its own pathway (France Travail holds `legal:spe` on it).


def _coordinator_of(area) -> Actor:
    council = OrganisationFactory(departement_council=True, employment_area=area)
    membership = MembershipFactory(organisation=council, role=Role.COORDINATOR)
    membership.employment_areas.set([area])
    return Actor(user=membership.user, organisation=council, role=Role.COORDINATOR)


def _proposal_by(actor: Actor):
    from parcours.services.committee import committee_propose

    return committee_propose(
        actor=actor,
        pathway_id=PathwayFactory(owner_organisation=actor.organisation).pk,
        reason="Bloqué depuis six mois",
        question="Qui peut financer le permis ?",
        summary="Sans véhicule.",
        basis_kind="legal",
        legal_basis="legal:spe",
    )


def _session_of(coordinator: Actor):
    from parcours.services.committee import committee_create

    return committee_create(
        actor=coordinator,
        employment_area_id=coordinator.organisation.employment_area_id,
        meets_at=timezone.now() + dt.timedelta(days=5),
        place="Maison de l'emploi",
        attendee_ids=[],
    )


def _committee_world(world, *, scheduled: bool = False):
    """(the coordinator of home's area, a proposal of `me`, a planned session of the area)."""
    from parcours.services.committee import committee_schedule

    coordinator = _coordinator_of(world.home.employment_area)
    proposal = _proposal_by(world.me)
    committee = _session_of(coordinator)
    if scheduled:
        committee_schedule(actor=coordinator, proposal_id=proposal.pk, committee_id=committee.pk)
    return coordinator, proposal, committee


def _foreign_committee(world):
    """A session of another employment area (the stranger's)."""
    return Committee, _session_of(_coordinator_of(world.elsewhere.employment_area)).pk


def _foreign_proposal(world):
    """The stranger's proposal on its own pathway (a Mission locale: under a consent)."""
    from parcours.services.committee import committee_propose

    pathway = PathwayFactory(owner_organisation=world.elsewhere)
    consent = ConsentFactory(
        person=pathway.person,
        organisations=[world.elsewhere],
        collected_by_organisation=world.elsewhere,
    )
    proposal = committee_propose(
        actor=world.stranger,
        pathway_id=pathway.pk,
        reason="Bloqué",
        question="Qui ?",
        summary="Résumé.",
        basis_kind="consent",
        consent_id=consent.pk,
    )
    return CommitteeProposal, proposal.pk


def _as_coordinator(payload=None, **kwargs):
    def build(world):
        coordinator, proposal, committee = _committee_world(world, **kwargs)
        data = payload(proposal, committee) if callable(payload) else payload
        return coordinator, committee.pk, data

    return build


def _on_proposal(payload=None, **kwargs):
    def build(world):
        coordinator, proposal, committee = _committee_world(world, **kwargs)
        data = payload(proposal, committee) if callable(payload) else payload
        return coordinator, proposal.pk, data

    return build


ENDPOINTS |= {
    ("/api/v1/committees/", "GET"): Row(own=lambda w: (_committee_world(w)[0], None, None)),
    ("/api/v1/committees/", "POST"): Row(
        own=lambda w: (
            _coordinator_of(w.home.employment_area),
            None,
            {
                "employment_area": w.home.employment_area_id,
                "meets_at": _soon(),
                "place": "Visio",
                "attendees": [w.siae.pk],
            },
        ),
        ok=201,
    ),
    ("/api/v1/committees/{pk}/", "GET"): Row(own=_as_coordinator(), foreign=_foreign_committee),
    ("/api/v1/committees/{pk}/attendees/", "POST"): Row(
        own=_as_coordinator(lambda p, c: {"attendees": []}), foreign=_foreign_committee
    ),
    ("/api/v1/committees/{pk}/cancel/", "POST"): Row(
        own=_as_coordinator(), foreign=_foreign_committee
    ),
    ("/api/v1/committee-proposals/", "GET"): Row(own=_as_me),
    ("/api/v1/committee-proposals/", "POST"): Row(
        own=lambda w: (
            w.me,
            None,
            {
                "pathway": _own_pathway(w).pk,
                "reason": "Bloqué",
                "question": "Qui peut aider ?",
                "summary": "Résumé.",
                "basis_kind": "legal",
                "legal_basis": "legal:spe",
            },
        ),
        ok=201,
    ),
    ("/api/v1/committee-proposals/{pk}/", "GET"): Row(
        own=lambda w: (w.me, _proposal_by(w.me).pk, None), foreign=_foreign_proposal
    ),
    ("/api/v1/committee-proposals/{pk}/schedule/", "POST"): Row(
        own=_on_proposal(lambda p, c: {"committee": c.pk}), foreign=_foreign_proposal
    ),
    ("/api/v1/committee-proposals/{pk}/move/", "POST"): Row(
        own=_on_proposal({"offset": 1}, scheduled=True), foreign=_foreign_proposal
    ),
    ("/api/v1/committee-proposals/{pk}/decline/", "POST"): Row(
        own=_on_proposal({"reason": "Hors du champ du comité."}), foreign=_foreign_proposal
    ),
    ("/api/v1/committee-proposals/{pk}/decide/", "POST"): Row(
        own=_on_proposal(
            {"decision": "Le parcours continue.", "outcome": "no_follow_up"}, scheduled=True
        ),
        foreign=_foreign_proposal,
    ),
}

DETAIL_ROWS = [key for key in ENDPOINTS if "{pk}" in key[0]]
SCOPED_ROWS = [key for key, row in ENDPOINTS.items() if row.foreign is not None]


def _url(path: str, pk=None) -> str:
    return path.format(pk=pk) if "{pk}" in path else path


def _call(client, method: str, url: str, payload=None):
    return getattr(client, method.lower())(url, payload, format="json")


def _row_id(key) -> str:
    return f"{key[1]} {key[0]}"


# --- the tests ------------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_matrix():
    resolved = resolved_endpoints()
    assert resolved, "the resolver walk found no endpoint under /api/v1/"
    missing = sorted(resolved - ENDPOINTS.keys())
    stale = sorted(ENDPOINTS.keys() - resolved)
    assert not missing, f"endpoints served but absent from ENDPOINTS: {missing}"
    assert not stale, f"rows of ENDPOINTS that no longer exist: {stale}"


def test_every_scoped_category_has_its_not_found_rows():
    """The categories the brief names are all covered by the unrelated-organisation check."""
    scoped_prefixes = {path.split("/")[3] for path, _method in SCOPED_ROWS}
    assert scoped_prefixes == {
        "alerts",
        "api-tokens",
        "webhook-subscriptions",
        "webhook-deliveries",
        "answers",
        "persons",
        "pathways",
        "referrals",
        "appointments",
        "agreements",
        "consents",
        "objections",
        "care-team-members",
        "break-glasses",
        "access-requests",
        "dpo",
        "objectives",
        "plan-actions",
        "committees",
        "committee-proposals",
    }
    for path, method in DETAIL_ROWS:
        if path.split("/")[3] in scoped_prefixes:
            assert ENDPOINTS[(path, method)].foreign is not None, (path, method)


@pytest.mark.django_db
@pytest.mark.parametrize("key", list(ENDPOINTS), ids=_row_id)
def test_anonymous_is_challenged(key, anonymous_client, world):
    path, method = key
    _actor, pk, payload = ENDPOINTS[key].own(world)
    response = _call(anonymous_client, method, _url(path, pk), payload)
    assert response.status_code == 401, response.content
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
@pytest.mark.parametrize("client_fixture", ["no_membership_client", "inactive_membership_client"])
@pytest.mark.parametrize("key", list(ENDPOINTS), ids=_row_id)
def test_user_without_membership_is_forbidden(key, client_fixture, request, world):
    path, method = key
    client = request.getfixturevalue(client_fixture)
    _actor, pk, payload = ENDPOINTS[key].own(world)
    response = _call(client, method, _url(path, pk), payload)
    assert response.status_code == 403, response.content
    assert response.json()["detail"].startswith("Vous n'êtes rattaché(e) à aucune organisation")


@pytest.mark.django_db
@pytest.mark.parametrize("key", list(ENDPOINTS), ids=_row_id)
def test_member_is_allowed(key, world, client_for):
    path, method = key
    row = ENDPOINTS[key]
    actor, pk, payload = row.own(world)
    response = _call(client_for(actor), method, _url(path, pk), payload)
    assert response.status_code == row.ok, response.content
    if path.endswith("/subject-access-pack/"):
        assert response["Content-Type"] == "application/zip"
        return
    if path.endswith("/evidence/"):  # the file, decrypted, as an attachment
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            f'attachment; filename="accord-{pk}-piece-justificative.pdf"'
        )
        assert response.content == real_pdf()
        return
    body = response.json()
    if path.endswith("/notes/"):
        assert (body["kind"], body["text"]) == ("note", "Premier entretien réalisé.")
    elif path.endswith("/break-glass/"):
        # The answer is the exceptional access opened on the pathway, not the pathway.
        assert (body["pathway"], body["category"], body["user"]) == (pk, "health", actor.user.pk)
    elif path.endswith("-report/"):
        assert pk in (body.get("person_id"), body.get("user_id")), body  # the DPO's reports
    elif path.endswith("/dpo/anomalies/"):
        assert "findings" in body
    elif path.endswith("/statistics/referrals/"):
        assert body["organisation"] == actor.organisation.pk and body["indicators"], body
    elif path.endswith("/statistics/indicators/"):
        assert {e["code"] for e in body} >= {"show_rate", "committees_held"}, body
    elif path.endswith(("/indicators/", "/indicators/report/")):
        assert body["agreement"] == pk, body  # the agreement acted on
        if method == "PUT":
            assert [i["code"] for i in body["indicators"]] == ["show_rate"], body
    elif path.endswith("/overdue-referrals/"):
        assert {"total", "results", "by_receiver", "by_sender"} <= set(body), body
    elif path.endswith("/renew/"):  # the successor, naming the token renewed, and its secret
        assert (body["replaces"], body["secret"][:4]) == (pk, "prc_"), body
    elif path.endswith("/messages/"):
        if method == "POST":  # the message written, on the referral acted on
            assert (body["referral"], body["text"]) == (pk, payload["text"]), body
        else:
            assert "results" in body
    elif "/receiver-link/" in path:  # the link's state, never its token
        assert body["state"] in ("none", "active", "revoked"), body
        assert set(body) == set(serializers.ReceiverLinkSerializer().fields), body
    elif pk is not None and not path.endswith("/timeline/"):
        assert body["id"] == pk, body  # detail routes answer with the record acted on
    elif method == "GET" and path.endswith("s/"):
        assert "results" in body


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", ["999999", "abc", str(2**70)])
@pytest.mark.parametrize("key", DETAIL_ROWS, ids=_row_id)
def test_unknown_id_is_not_found(key, bad_id, world, client_for):
    path, method = key
    actor, _pk, payload = ENDPOINTS[key].own(world)
    response = _call(client_for(actor), method, _url(path, bad_id), payload)
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": NOT_FOUND}


ACCESS_MODELS = (Consent, Objection, CareTeamMember, BreakGlass, AccessRequest, ReferralMessage)


def _snapshot(model, pk) -> tuple[dict, int, list[int], list[tuple[int, str]]]:
    """The record, the timeline size, how many consents, objections, care-team members,
    break-glasses, access requests and messages exist (a refused call creates none), and every
    answer of an agreement's parties (a refused call changes none)."""
    return (
        model_to_dict(model.objects.get(pk=pk)),
        PathwayEvent.objects.count(),
        [m.objects.count() for m in ACCESS_MODELS],
        list(AgreementParty.objects.order_by("pk").values_list("pk", "status")),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("key", SCOPED_ROWS, ids=_row_id)
def test_record_of_unrelated_organisation_is_not_found(key, world, client_for):
    """Out of scope answers exactly like missing (404, not 403), and nothing is written."""
    path, method = key
    row = ENDPOINTS[key]
    actor, _own_pk, payload = row.own(world)
    model, foreign_pk = row.foreign(world)
    before = _snapshot(model, foreign_pk)

    response = _call(client_for(actor), method, _url(path, foreign_pk), payload)

    assert response.status_code == 404, response.content
    missing = _call(client_for(actor), method, _url(path, 999999), payload)
    assert response.json() == missing.json() == {"detail": NOT_FOUND}
    assert _snapshot(model, foreign_pk) == before


@pytest.mark.django_db
def test_receiver_does_not_see_a_draft_through_any_referral_route(world, client_for):
    draft = _incoming(world)
    assert draft.status == ReferralStatus.DRAFT
    client = client_for(world.me)
    for path, method in DETAIL_ROWS:
        if not path.startswith("/api/v1/referrals/"):
            continue
        payload = ENDPOINTS[(path, method)].payload(world)
        response = _call(client, method, _url(path, draft.pk), payload)
        assert response.status_code == 404, (path, response.content)
    draft.refresh_from_db()
    assert draft.status == ReferralStatus.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted({path for path, _method in ENDPOINTS}))
def test_methods_outside_the_matrix_are_not_allowed(path, world, client_for):
    """No undeclared verb (PUT, DELETE…) is served: a member gets 405 for those."""
    declared = {method for p, method in ENDPOINTS if p == path}
    client = client_for(world.me)
    for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - declared:
        response = _call(client, method, _url(path, 999999), {})
        assert response.status_code == 405, (method, path, response.content)
