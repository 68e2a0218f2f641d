"""« Orientations envoyées » (issue 14): the referrals the user — or their organisation — sent,
where each stands and the receiver's latest answer; « à regarder » from the one definition
(parcours.selectors.sent_referrals.NEEDS_ATTENTION); never another organisation's referral; bad
filters refused in French; the list journaled like the inbox."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parcours.actor import actor_for
from parcours.models import AccessEvent, Organisation, Referral, Role
from parcours.selectors.sent_referrals import NEEDS_ATTENTION, organisations_sent_to
from parcours.services.referral import referral_accept, referral_refuse
from tests.factories import (
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)

from .test_pages import World

pytestmark = pytest.mark.django_db

URL = reverse("web:sent-referrals")


@pytest.fixture
def world():
    return World()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _listed(response) -> list[int]:
    assert response.status_code == 200
    page = response.context["page"]
    return sorted(r.pk for r in page) if page is not None else []


def _sent_by(world, user, **state) -> Referral:
    return ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.home),
        sender_user=user,
        receiver_organisation=world.elsewhere,
        **state,
    )


def _siae_counsellor(world):
    return MembershipFactory(organisation=world.siae).user


def test_mine_by_default_my_organisations_on_request_never_anothers(world):
    colleague = MembershipFactory(organisation=world.home).user
    theirs = _sent_by(world, colleague, sent=True)
    client = _client(world.me)
    # Mine (the default): the referral `me` sent — not a colleague's, not one received
    # (world.incoming), not another organisation's (world.foreign_referral).
    assert _listed(client.get(URL)) == [world.outgoing.pk]
    assert _listed(client.get(URL, {"par": "moi"})) == [world.outgoing.pk]
    assert _listed(client.get(URL, {"par": "organisation"})) == sorted(
        [world.outgoing.pk, theirs.pk]
    )
    # The other side: neither the SIAE (it received it) nor the Mission locale list them.
    for user in (_siae_counsellor(world), world.stranger):
        listed = _listed(_client(user).get(URL, {"par": "organisation"}))
        assert world.outgoing.pk not in listed and theirs.pk not in listed
    assert _listed(_client(world.stranger).get(URL, {"par": "organisation"})) == [
        world.foreign_referral.pk
    ]


def test_a_draft_never_sent_is_not_listed(world):
    draft = _sent_by(world, world.me)  # the factory's default state
    assert draft.sent_at is None
    assert draft.pk not in _listed(_client(world.me).get(URL, {"par": "organisation"}))


def test_a_refusal_is_to_look_at_with_the_receivers_answer(world):
    """The SIAE refuses through the service: the row says « Refusée le … » with the reason;
    « à regarder » lists it and no longer the referrals still waiting."""
    waiting = _sent_by(world, world.me, sent=True)
    siae = actor_for(_siae_counsellor(world), world.siae.pk)
    referral_refuse(actor=siae, referral_id=world.outgoing.pk, refusal_reason="no_capacity")
    client = _client(world.me)
    response = client.get(URL, {"a_regarder": "oui"})
    assert _listed(response) == [world.outgoing.pk]
    html = response.content.decode()
    today = timezone.localdate().strftime("%d/%m/%Y")
    assert f"Refusée le {today}" in html
    assert "Motif : Plus de place disponible" in html
    assert "Léa Martin" in html
    # Without the filter, the waiting one too: « Pas encore de réponse ».
    response = client.get(URL)
    assert _listed(response) == sorted([world.outgoing.pk, waiting.pk])
    assert "Pas encore de réponse" in response.content.decode()


def test_the_latest_answer_is_the_receivers_latest_move(world):
    """Accepted, then an appointment set: the row shows the latest, never the sender's own
    moves (sending)."""
    siae = actor_for(_siae_counsellor(world), world.siae.pk)
    referral_accept(actor=siae, referral_id=world.outgoing.pk)
    response = _client(world.me).get(URL)
    row = response.context["page"].object_list[0]
    assert row.latest_answer_status == "accepted"
    assert "Acceptée le" in response.content.decode()


def test_to_look_at_is_exactly_the_states_of_needs_attention(world):
    made = {
        status: _sent_by(world, world.me, **{status: True})
        for status in ("accepted", "refused", "expired", "no_show", "closed", "withdrawn")
    }
    listed = _listed(_client(world.me).get(URL, {"a_regarder": "oui"}))
    assert listed == sorted(made[s].pk for s in NEEDS_ATTENTION)


def test_filters_by_state_receiver_and_age(world):
    recent = _sent_by(world, world.me, sent=True, sent_at=timezone.now() - dt.timedelta(days=2))
    client = _client(world.me)
    # world.outgoing went to the SIAE 19 days ago, `recent` to the Mission locale 2 days ago.
    assert _listed(client.get(URL, {"destinataire": world.siae.pk})) == [world.outgoing.pk]
    assert _listed(client.get(URL, {"destinataire": world.elsewhere.pk})) == [recent.pk]
    assert _listed(client.get(URL, {"depuis": "7"})) == [recent.pk]
    assert _listed(client.get(URL, {"depuis": "30"})) == sorted([world.outgoing.pk, recent.pk])
    assert _listed(client.get(URL, {"statut": "sent"})) == sorted([world.outgoing.pk, recent.pk])
    assert _listed(client.get(URL, {"statut": "refused"})) == []
    # The receivers offered: those the organisation sent to, never the whole directory.
    offered = dict(client.get(URL).context["form"].fields["destinataire"].choices)
    assert offered == {
        "": "Tous les destinataires",
        str(world.siae.pk): world.siae.name,
        str(world.elsewhere.pk): world.elsewhere.name,
    }


def test_the_receivers_offered_are_the_organisation_s_sending_history(world):
    """Each organisation the organisation sent to, once, by name (found in the index one
    receiver at a time); a receiver of a draft never sent, and another organisation's
    receivers, are not offered."""
    drafted = OrganisationFactory(name="Atelier jamais sollicité")
    draft = ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.home),
        sender_user=world.me,
        receiver_organisation=drafted,
    )
    assert draft.sent_at is None
    others = OrganisationFactory(name="Reçu d'un autre organisme")
    ReferralFactory(receiver_organisation=others, sent=True)
    for _ in range(3):  # the same receiver thrice: offered once
        _sent_by(world, world.me, sent=True)
    _sent_by(world, MembershipFactory(organisation=world.home).user, sent=True)
    actor = actor_for(world.me, world.home.pk)
    offered = list(organisations_sent_to(actor))
    sent = Referral.objects.filter(sender_organisation=world.home, sent_at__isnull=False)
    expected = Organisation.objects.filter(pk__in=sent.values("receiver_organisation_id")).order_by(
        "name", "id"
    )
    assert offered == list(expected) and len(offered) == len(set(offered)) >= 2
    assert drafted not in offered and others not in offered
    page_offered = _client(world.me).get(URL).context["form"].fields["destinataire"].choices
    assert page_offered[1:] == [(str(o.pk), o.name) for o in offered]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"statut": "draft"}, "statut", "Sélectionnez un choix valide"),
        ({"par": "tout-le-monde"}, "par", "Sélectionnez un choix valide"),
        ({"depuis": "12"}, "depuis", "Sélectionnez un choix valide"),
        ({"destinataire": "abc"}, "destinataire", "Sélectionnez un choix valide"),
    ],
)
def test_a_filter_not_offered_is_a_french_error_and_lists_nothing(world, query, field, message):
    client = _client(world.me)
    before = AccessEvent.objects.count()
    response = client.get(URL, query)
    assert response.status_code == 200
    assert response.context["page"] is None
    assert message in response.context["form"].errors[field][0]
    assert "Corrigez les filtres" in response.content.decode()
    assert AccessEvent.objects.count() == before  # nothing shown, nothing journaled


def test_a_receiver_the_organisation_never_sent_to_is_refused(world):
    """A receiver out of the list (another organisation's receiver): refused, not a way to
    learn anything about it."""
    other = OrganisationFactory(name="Cap emploi Artois")
    response = _client(world.me).get(URL, {"destinataire": other.pk})
    assert response.context["page"] is None
    assert "destinataire" in response.context["form"].errors


def test_the_list_is_journaled_as_the_inbox_is(world):
    _client(world.me).get(URL)
    row = AccessEvent.objects.filter(user=world.me).latest("id")
    assert (row.operation, row.object_type, row.object_ids) == (
        "list",
        "referral",
        [world.outgoing.pk],
    )
    assert row.categories == ["identity", "pathway"]
    assert row.detail["action"] == "referral.list"
    assert row.detail["door"] == "page"


def test_a_manager_sees_the_organisations_referrals_without_names(world):
    manager = MembershipFactory(organisation=world.home, role=Role.MANAGER).user
    client = _client(manager)
    assert _listed(client.get(URL)) == []  # a manager sends none
    response = client.get(URL, {"par": "organisation"})
    assert _listed(response) == [world.outgoing.pk]
    html = response.content.decode()
    assert "Martin" not in html
    assert "Identité non partagée avec votre organisation" in html
    row = AccessEvent.objects.filter(user=manager).latest("id")
    assert row.categories == ["pathway"]


def test_a_dpo_lists_no_record_as_on_the_inbox(world):
    dpo = MembershipFactory(organisation=world.home, role=Role.DPO).user
    client = _client(dpo)
    for url in (URL, reverse("web:inbox")):
        response = client.get(url, {"par": "organisation"} if url == URL else {})
        assert response.status_code == 200
        assert response.context["page"].paginator.count == 0
    assert not AccessEvent.objects.filter(user=dpo, operation="list").exists()


def test_the_header_and_the_home_lead_to_it(world):
    client = _client(world.me)
    home = client.get(reverse("web:home")).content.decode()
    assert f'href="{URL}"' in home  # the header's navigation
    assert f'href="{URL}?par=moi&amp;a_regarder=oui"' in home  # the home's block
    page = client.get(URL).content.decode()
    assert f'href="{URL}" aria-current="page">Orientations envoyées' in page
