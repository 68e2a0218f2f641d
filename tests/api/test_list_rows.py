"""The API's long lists written without the serializers (parcours/api/list_rows.py, issue 17).

For each list endpoint (pathways; referrals, received, sent or unfiltered; persons), the rows the
plain writer gives are the serializer's `.data` for the same page and request context, compared
as JSON text (so an integer written as a string, a date in another zone or a key in another
order fails), and the endpoint answers the very bytes the serializer would have written; so does
each listed referral's and person's detail, written by the same writer. Two
worlds: one of every state (every referral status, closed and archived pathways, nulls and
filled optional fields, unread messages, a transfer's both ends) seen by each role of the
holding organisation, a partner that sees only some categories, the other side of the
referrals and a break-glass; and every relationship × basis × role of the access scenarios
(tests/access/scenarios.py), whose rows are redacted in every way the gate allows.
"""

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory, force_authenticate

from parcours.actor import Actor
from parcours.api import serializers, views
from parcours.models import Barrier, ModalityPeriod, ReferralStatus, Role
from parcours.services.access_grants import access_recompute
from parcours.services.break_glass import break_glass_open

from ..access.scenarios import CASES, build_world
from ..factories import (
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    ReferralMessageFactory,
    ServiceFactory,
    valid_nir,
)

API = "/api/v1/"
VIEWSETS = {
    "pathways": views.PathwayViewSet,
    "referrals": views.ReferralViewSet,
    "persons": views.PersonViewSet,
}


def _list_by_both_writers(actor: Actor, path: str, query: str) -> tuple[list, list, list]:
    """The page of `path` as the viewset lists it for this actor — authenticated, permitted,
    filtered and paginated by DRF as for a real request — written by the plain writer and by
    the serializer, with the same request context; and the page's records."""
    request = APIRequestFactory().get(
        f"{API}{path}/{query}", HTTP_X_PARCOURS_ORGANISATION=str(actor.organisation.pk)
    )
    force_authenticate(request, user=actor.user)
    view = VIEWSETS[path]()
    view.action_map = {"get": "list"}
    view.args, view.kwargs = (), {}
    view.request = view.initialize_request(request)
    view.initial(view.request)
    assert view.action == "list"
    page = view.paginate_queryset(view.filter_queryset(view.get_queryset()))
    context = view.get_serializer_context()
    by_serializer = view.get_serializer_class()(page, many=True, context=context).data
    return view.write_rows(page, context), by_serializer, page


def _pathway_detail(actor: Actor, pk: int) -> dict:
    """`PathwayDetailSerializer`'s data for the pathway, as the viewset's retrieve reads it
    (the same scope and prefetches, the same request context)."""
    request = APIRequestFactory().get(
        f"{API}pathways/{pk}/", HTTP_X_PARCOURS_ORGANISATION=str(actor.organisation.pk)
    )
    force_authenticate(request, user=actor.user)
    view = views.PathwayViewSet()
    view.action_map = {"get": "retrieve"}
    view.args, view.kwargs = (), {"pk": str(pk)}
    view.request = view.initialize_request(request)
    view.initial(view.request)
    pathway = view.get_queryset().get(pk=pk)
    return serializers.PathwayDetailSerializer(pathway, context=view.get_serializer_context()).data


def _text(rows) -> str:
    return json.dumps(rows, ensure_ascii=False)


def _assert_written_as_the_serializer(client, actor: Actor, path: str, query: str = "") -> list:
    written, by_serializer, page = _list_by_both_writers(actor, path, query)
    assert _text(written) == _text(by_serializer)
    # The endpoint's answer: the bytes the serializer's rows would have made, cursors included.
    response = client.get(f"{API}{path}/{query}")
    assert response.status_code == 200
    answer = response.json()
    assert response.content == JSONRenderer().render({**answer, "results": by_serializer})
    if path in ("referrals", "persons"):
        # Their details are written by the same writer: the serializer's bytes for each row.
        for row in by_serializer:
            detail = client.get(f"{API}{path}/{row['id']}/")
            assert detail.status_code == 200
            assert detail.content == JSONRenderer().render(row)
    elif path == "pathways":
        # A pathway's detail, by its own writer: the detail serializer's bytes.
        for pathway in page:  # by the page's ids: a row without the pathway category has none
            detail = client.get(f"{API}{path}/{pathway.pk}/")
            assert detail.status_code == 200
            assert detail.content == JSONRenderer().render(_pathway_detail(actor, pathway.pk))
    return answer["results"]


# --- A world of every state ---------------------------------------------------------------------


def _member(organisation, role: str = Role.COUNSELLOR) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role)
    return Actor(user=membership.user, organisation=organisation, role=role)


@pytest.fixture
def every_state(db):
    """`home` (a département's unit) holds pathways of every shape and sends a referral in every
    status to `siae`, which sees what the person consented to (identity and pathway only);
    `sender` refers people of its own to `home`, one of which a counsellor of `home` opened
    health on (break-glass)."""
    home = OrganisationFactory(departement_council=True, name="Maison des solidarités")
    siae = OrganisationFactory(siae=True, name="Chantier « Les Jardins »")
    sender = OrganisationFactory(kind="france_travail")
    counsellor = _member(home)
    now = timezone.now()

    young = PersonFactory(
        birth_date=dt.date(2005, 3, 1),
        email="lea@example.test",
        phone="0601020304",
        address="3 rue des Lilas",
        postal_code="51000",
        city="Châlons-en-Champagne",
        france_travail_id="1234567A",
        nir=valid_nir(901),
        receives_rsa=True,
        rights_ending=True,
        rights_end_date=dt.date(2030, 1, 31),
        rqth=True,
        court_supervision=True,
        lives_in_qpv=True,
    )
    older = PersonFactory(birth_date=dt.date(1962, 11, 30), receives_ass=True)
    referred = PathwayFactory(
        person=young,
        owner_organisation=home,
        referent=counsellor.user,
        modality="renforce",
        diagnostic_summary="Mobilité réduite ; cherche un poste « en extérieur ».",
    )
    # What its detail adds: the modality's periods (one ended) and barriers, health-related
    # ones (health, addiction) shown only to those who see health.
    ModalityPeriod.objects.create(
        pathway=referred,
        modality="accompagnement_global",
        started_at=now - dt.timedelta(days=90),
        ended_at=now - dt.timedelta(days=30, hours=3),
    )
    ModalityPeriod.objects.create(
        pathway=referred, modality="renforce", started_at=now - dt.timedelta(days=30, hours=3)
    )
    for kind, status, resolved in [
        ("housing", "identified", None),
        ("health", "in_progress", None),
        ("addiction", "resolved", now - dt.timedelta(days=3)),
    ]:
        Barrier.objects.create(
            pathway=referred,
            kind=kind,
            status=status,
            detail=f"Précisions sur « {kind} »",
            identified_at=now - dt.timedelta(days=60),
            resolved_at=resolved,
        )
    PathwayFactory(
        person=older,
        owner_organisation=home,
        referent_organisation=None,
        status="closed",
        opened_at=now - dt.timedelta(days=240),
        closed_at=now - dt.timedelta(days=40),
        outcome="job",
    )
    # A person with a closed pathway and an open one (the open one is `open_pathway`), another
    # whose only pathway is archived.
    twice = PersonFactory()
    PathwayFactory(
        person=twice,
        owner_organisation=home,
        status="closed",
        opened_at=now - dt.timedelta(days=600),
        closed_at=now - dt.timedelta(days=400),
        outcome="lost_contact",
    )
    PathwayFactory(person=twice, owner_organisation=home, modality="accompagnement_global")
    PathwayFactory(
        person=PersonFactory(),
        owner_organisation=home,
        status="closed",
        opened_at=now - dt.timedelta(days=1100),
        closed_at=now - dt.timedelta(days=900),
        outcome="other",
        archived_at=now - dt.timedelta(days=2),
    )

    service = ServiceFactory(organisation=siae)
    traits = [
        {},  # a draft: its sender's alone
        {"sent": True, "receiver_service": service, "shared_categories": ["social"]},
        {"accepted": True, "context_note": "Souhaite travailler en extérieur."},
        {"refused": True, "refusal_comment": "Plus de place avant l'automne."},
        {"withdrawn": True},
        {"expired": True},
        {"appointment_set": True},
        {"attended": True},
        {"no_show": True},
        {"closed": True, "outcome_comment": "Contrat signé."},
        {"transfer_proposed": True},
        {"transferred": True},  # and the referral that follows it (transferred_from)
    ]
    # One open referral per pathway and receiver: each of its own pathway but the first.
    pathways = [referred] + [PathwayFactory(owner_organisation=home) for _ in traits[1:]]
    referrals = [
        ReferralFactory(
            pathway=pathway, sender_user=counsellor.user, receiver_organisation=siae, **kwargs
        )
        for pathway, kwargs in zip(pathways, traits, strict=True)
    ]
    siae_counsellor = _member(siae)
    for referral in referrals[1:]:
        ReferralMessageFactory(
            referral=referral,
            author=siae_counsellor.user,
            author_organisation=siae,
            text="Avez-vous son CV ?",
        )

    # Referred to `home` by `sender`: assigned, with unread messages, a context note, a service.
    sender_counsellor = _member(sender)
    received = []
    for kwargs in ({"sent": True}, {"accepted": True}, {"refused": True}, {"no_show": True}):
        pathway = PathwayFactory(owner_organisation=sender, person=PersonFactory(rqth=True))
        ConsentFactory(
            person=pathway.person,
            organisations=[home],
            categories=["identity", "contact", "pathway", "social"],
            collected_by_organisation=sender,
        )
        received.append(
            ReferralFactory(
                pathway=pathway,
                sender_user=sender_counsellor.user,
                receiver_organisation=home,
                receiver_service=ServiceFactory(organisation=home),
                context_note="Hébergé chez sa sœur.",
                shared_categories=["contact", "social"],
                assigned_user=counsellor.user if kwargs != {"refused": True} else None,
                **kwargs,
            )
        )
    ReferralMessageFactory(referral=received[0], text="Merci de la recevoir vite.")
    for referral in received:
        access_recompute(pathway_id=referral.pathway_id)

    # Health of the first person referred to `home`, opened by one of its counsellors only.
    opener = _member(home)
    break_glass_open(
        actor=opener,
        pathway_id=received[1].pathway_id,
        category="health",
        reason="Vérifier l'aménagement de poste (RQTH)",
    )
    return {
        "home": home,
        "siae": siae,
        "sender": sender,
        "actors": {
            "home counsellor": counsellor,
            "home social worker": _member(home, Role.SOCIAL_WORKER),
            "home manager": _member(home, Role.MANAGER),
            "home counsellor with break-glass": opener,
            "partner seeing identity and pathway": siae_counsellor,
            "sender of referrals to home": sender_counsellor,
        },
    }


def _queries(world) -> dict[str, list[str]]:
    home, siae, sender = world["home"].pk, world["siae"].pk, world["sender"].pk
    return {
        "pathways": ["", "?status=closed"],
        "referrals": [
            "",
            f"?receiver={home}",
            f"?sender={home}",
            f"?receiver={siae}",
            f"?sender={sender}",
            "?page_size=3",
        ],
        "persons": ["", "?ordering=-birth_date", "?page_size=2"],
    }


@pytest.mark.parametrize(
    "who",
    [
        "home counsellor",
        "home social worker",
        "home manager",
        "home counsellor with break-glass",
        "partner seeing identity and pathway",
        "sender of referrals to home",
    ],
)
def test_every_state_is_written_as_the_serializer_writes_it(every_state, who, client_for):
    actor = every_state["actors"][who]
    client = client_for(actor)
    listed = 0
    for path, queries in _queries(every_state).items():
        for query in queries:
            listed += len(_assert_written_as_the_serializer(client, actor, path, query))
    assert listed


def test_every_state_world_covers_what_it_claims(every_state, client_for):
    """The world above holds what the equality is claimed for: every status, nulls and values,
    redacted rows and rows whose sensitive categories are visible."""
    actors = every_state["actors"]

    def rows(who: str, url: str) -> list[dict]:
        return client_for(actors[who]).get(f"{API}{url}").json()["results"]

    sent = rows("home counsellor", f"referrals/?sender={every_state['home'].pk}&page_size=50")
    assert {r["status"] for r in sent} == set(ReferralStatus.values)
    assert any(r["transferred_from"] is not None for r in sent)
    assert any(r["transferred_to"] is not None for r in sent)
    assert {r["unread_messages"] for r in sent} >= {0, 1}
    received = rows("home counsellor", f"referrals/?receiver={every_state['home'].pk}")
    assert {r["assigned_user"] is None for r in received} == {True, False}
    assert any(r["available_actions"] for r in received)
    assert {r["receiver_service"] is None for r in sent} == {True, False}

    pathways = rows("home counsellor", "pathways/")
    for key in ("referent", "referent_organisation", "closed_at", "archived_at"):
        assert {p[key] is None for p in pathways} == {True, False}, key
    persons = rows("home counsellor", "persons/")
    assert {p["rights_end_date"] is None for p in persons} == {True, False}
    assert {p["open_pathway"] is None for p in persons} == {True, False}
    assert {p["under_26"] for p in persons} == {True, False}
    assert {p["over_55"] for p in persons} == {True, False}

    # The manager sees the pathway category only: no person in its rows.
    assert all("person" not in p for p in rows("home manager", "pathways/"))
    # The partner sees identity and pathway, never the contact details nor health.
    partner = rows("partner seeing identity and pathway", "persons/")
    assert partner and all("first_name" in p and "email" not in p for p in partner)
    # The break-glass opens health (rqth) on one person for its opener alone.
    opened = rows("home counsellor with break-glass", "persons/")
    assert sum("rqth" in p for p in opened) == 1
    assert not any("rqth" in p for p in rows("home counsellor", "persons/"))


# --- Every relationship × basis × role of the access scenarios ---------------------------------


@pytest.mark.parametrize("case", [c for c in CASES if c.role is not None], ids=lambda c: c.id)
def test_each_access_scenario_is_written_as_the_serializer_writes_it(case, client_for, db):
    world = build_world(case)
    assert world.actor is not None
    client = client_for(world.actor)
    org = world.acting_org.pk
    travel = time_machine.travel(timezone.now() + world.travel, tick=True) if world.travel else None
    if travel:
        travel.start()
    try:
        listed = 0
        for path, query in [
            ("pathways", ""),
            ("referrals", ""),
            ("referrals", f"?receiver={org}"),
            ("referrals", f"?sender={org}"),
            ("persons", ""),
        ]:
            listed += len(_assert_written_as_the_serializer(client, world.actor, path, query))
    finally:
        if travel:
            travel.stop()
    # What the scenario lets the actor see is listed (and so compared), redacted or whole.
    assert bool(listed) == bool(world.expected)
