"""Destructive moves are confirmed first (issue 13): with JavaScript a DSFR modal names the person
and what follows; without it, a move posted unconfirmed answers the form again with that sentence
and writes nothing — the move is made only with `confirm=1` (the pathway's closing: its box)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import (
    AccessEvent,
    PathwayStatus,
    Referral,
    ReferralStatus,
)
from tests.factories import AppointmentFactory, PathwayFactory, ReferralFactory

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def _move(referral: Referral, action: str) -> str:
    return reverse("web:referral-move", kwargs={"pk": referral.pk, "action": action})


def _writes(user) -> int:
    return AccessEvent.objects.filter(user=user, operation="write").count()


def _received(world: World, **state) -> Referral:
    """A referral Léa's record holder (France Travail Lens, `me`) received, in `state`."""
    return ReferralFactory(
        pathway=PathwayFactory(owner_organisation=world.siae),
        receiver_organisation=world.home,
        **state,
    )


def _name(referral: Referral) -> str:
    person = referral.pathway.person
    return f"{person.first_name} {person.last_name}"


def test_the_referral_page_carries_a_modal_for_each_destructive_move(world):
    page = client_of(world.me).get(reverse("web:referral-detail", args=[world.incoming.pk]))
    html = page.content.decode().replace("&#x27;", "'")
    # The button that opens the modal (DSFR: data-fr-opened + aria-controls) and the modal.
    assert 'data-fr-opened="false" aria-controls="modale-refuse"' in html
    assert '<dialog aria-labelledby="modale-refuse-titre" role="dialog" id="modale-refuse"' in html
    assert (
        f"L'orientation de {_name(world.incoming)} vers France Travail Lens sera refusée ; "
        "l'organisme prescripteur, Chantier Les Jardins, en sera informé" in html
    )
    assert 'name="confirm" value="1"' in html  # the modal's button posts the confirmation
    assert "modale-accept" not in html  # accepting is not destructive: no modal


def test_a_refusal_posted_unconfirmed_asks_first_and_writes_nothing(world):
    client = client_of(world.me)
    writes = _writes(world.me)
    response = client.post(
        _move(world.incoming, "refuse"),
        {"refusal_reason": "no_capacity", "comment": "Plus de place avant juin"},
    )
    assert response.status_code == 400
    html = response.content.decode().replace("&#x27;", "'")
    assert "Confirmez l'action : rien n'a encore été enregistré." in html
    assert f"L'orientation de {_name(world.incoming)} vers France Travail Lens sera refusée" in html
    assert "Plus de place avant juin" in html  # what was typed is kept
    assert "Confirmer le refus" in html
    assert Referral.objects.get(pk=world.incoming.pk).status == ReferralStatus.SENT
    assert _writes(world.me) == writes

    confirmed = client.post(
        _move(world.incoming, "refuse"),
        {"refusal_reason": "no_capacity", "comment": "Plus de place avant juin", "confirm": "1"},
    )
    assert confirmed.status_code == 302
    assert Referral.objects.get(pk=world.incoming.pk).status == ReferralStatus.REFUSED
    assert _writes(world.me) == writes + 1


@pytest.mark.parametrize(
    ("action", "state", "target", "sentence"),
    [
        ("withdraw", None, ReferralStatus.WITHDRAWN, "sera retirée"),
        ("record_no_show", "booked", ReferralStatus.NO_SHOW, "au rendez-vous du"),
        ("close", "attended", ReferralStatus.CLOSED, "sera clôturée avec la suite donnée"),
    ],
)
def test_each_destructive_move_waits_for_its_confirmation(world, action, state, target, sentence):
    client = client_of(world.me)
    if state is None:
        referral, data = world.outgoing, {"comment": ""}
    elif state == "booked":
        referral, data = _received(world, appointment_set=True), {}
        AppointmentFactory(referral=referral, starts_at=timezone.now() - dt.timedelta(hours=1))
    else:
        referral, data = _received(world, attended=True), {"outcome": "job", "comment": "En CDD"}
    before = referral.status

    response = client.post(_move(referral, action), data)
    assert response.status_code == 400
    html = response.content.decode().replace("&#x27;", "'")
    assert sentence in html
    assert _name(referral) in html
    assert Referral.objects.get(pk=referral.pk).status == before

    assert client.post(_move(referral, action), {**data, "confirm": "1"}).status_code == 302
    assert Referral.objects.get(pk=referral.pk).status == target


def test_a_party_the_table_refuses_is_refused_before_any_confirmation(world):
    # The receiver of France Travail's referral may not withdraw it, confirmed or not: 403.
    siae = client_of(world.incoming.sender_user)
    response = siae.post(_move(world.outgoing, "withdraw"), {"comment": ""})
    assert response.status_code in (403, 404)
    assert Referral.objects.get(pk=world.outgoing.pk).status == ReferralStatus.SENT


def test_closing_the_pathway_names_the_person_in_its_modal_and_needs_its_box_without_js(world):
    client = client_of(world.me)
    url = reverse("web:pathway-write", kwargs={"pathway_pk": world.pathway.pk, "write": "cloture"})
    for referral in world.pathway.referrals.all():  # an open referral forbids closing
        client.post(_move(referral, "withdraw"), {"confirm": "1"})
    html = client.get(url).content.decode().replace("&#x27;", "'")
    assert 'aria-controls="modale-cloture"' in html
    assert "Le parcours de Léa Martin sera clôturé avec le motif de sortie choisi" in html
    assert 'name="confirm" value="on"' in html  # the modal's button ticks the box
    assert 'class="parcours-no-js"' in html  # the box, for browsers without JavaScript

    unconfirmed = client.post(url, {"outcome": "job"})
    assert unconfirmed.status_code == 400
    world.pathway.refresh_from_db()
    assert world.pathway.status == PathwayStatus.OPEN
    assert client.post(url, {"outcome": "job", "confirm": "on"}).status_code == 302
    world.pathway.refresh_from_db()
    assert world.pathway.status == PathwayStatus.CLOSED
