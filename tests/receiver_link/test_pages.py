"""The pages of a receiver's link (issue 19): the receiver's page without sign-in, its forms with
their French errors and values kept, the refusals (forged, other referral, expired, revoked,
closed), and the sender's revocation and new link from the referral page."""

import datetime as dt
import html

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parcours.models import AccessEvent, ReceiverLink, Referral, ReferralStatus, Role
from parcours.services.receiver_link import token_for
from tests.factories import OrganisationFactory, PersonFactory

from .conftest import sender_actor, token_of

# The pages of a receiver's link, swept here and in tests/web/test_page_matrix.py (allow, deny,
# out of scope) rather than by test_pages' member sweeps (no account opens the first two).
RECEIVER_LINK_PAGES = {"receiver-link", "receiver-link-move", "referral-receiver-link"}


def _link(referral: Referral) -> ReceiverLink:
    return ReceiverLink.objects.get(referral=referral, revoked_at__isnull=True)


def _url(referral: Referral, token: str | None = None, action: str | None = None) -> str:
    token = token if token is not None else token_of(_link(referral))
    if action is None:
        return reverse("web:receiver-link", kwargs={"referral_pk": referral.pk, "token": token})
    return reverse(
        "web:receiver-link-move",
        kwargs={"referral_pk": referral.pk, "token": token, "action": action},
    )


def _text(response) -> str:
    """The page's text, its entities read (« d'accès », not « d&#x27;accès »)."""
    return html.unescape(response.content.decode())


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- the receiver's page --------------------------------------------------------------------


def test_the_page_opens_without_sign_in_and_shows_what_the_receiver_may(world, client):
    referral = world.send()
    response = client.get(_url(referral))
    assert response.status_code == 200
    page = _text(response)
    assert "Léa Martin" in page  # the identity the person consented to share
    assert "Hébergée chez un tiers" not in page  # the social note: no basis for it
    assert "Accepter" in page and "Refuser l'orientation" in page
    assert "Fixer le rendez-vous" not in page  # not from « envoyée »
    assert "demandez-en un" in page  # the invitation to join
    assert 'id="navigation"' not in page  # no menu: no account
    read = AccessEvent.objects.get(operation="read", object_id=referral.pk)
    assert read.user is None and read.organisation == world.ccas
    assert read.detail["receiver_link"] == _link(referral).pk
    assert read.detail["action"] == "referral.read"
    assert _link(referral).last_used_at is not None
    # The e-mail arrived: the encrypted copy of the token is gone, only its hash remains.
    assert _link(referral).mail_token == ""


def test_accept_then_appointment_then_outcome_through_the_page(world, client):
    referral = world.send()
    token = token_of(_link(referral))
    response = client.post(_url(referral, token, "accept"))
    assert response.status_code == 302
    response = client.get(response.url)
    assert "« accepter » fait" in _text(response)
    starts = timezone.now() + dt.timedelta(days=3)
    response = client.post(
        _url(referral, token, "set_appointment"),
        {"starts_at": _local(starts), "channel": "in_person", "place": "Mairie, bureau 2"},
    )
    assert response.status_code == 302
    with time_machine.travel(starts + dt.timedelta(minutes=5)):
        assert client.post(_url(referral, token, "record_attendance")).status_code == 302
        response = client.post(
            _url(referral, token, "close"), {"outcome": "support_started", "comment": "FSL"}
        )
        assert response.status_code == 302
        # Closed: the link opens nothing more (the page says so, with the move's message).
        final = client.get(response.url)
    assert final.status_code == 410
    assert "Orientation terminée" in _text(final)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CLOSED
    writes = AccessEvent.objects.filter(operation="write", organisation=world.ccas)
    assert writes.count() == 4
    assert {e.detail["receiver_link"] for e in writes} == {_link(referral).pk}


def test_wrong_input_is_said_in_french_with_the_values_kept(world, client):
    referral = world.send()
    token = token_of(_link(referral))
    response = client.post(_url(referral, token, "refuse"), {"comment": "Plus de place en mai"})
    assert response.status_code == 400
    page = _text(response)
    assert "Ce champ est obligatoire." in page
    assert "Plus de place en mai" in page
    client.post(_url(referral, token, "accept"))
    past = timezone.now() - dt.timedelta(days=1)
    response = client.post(
        _url(referral, token, "set_appointment"),
        {"starts_at": _local(past), "channel": "in_person", "place": "Mairie, bureau 2"},
    )
    assert response.status_code == 400
    page = _text(response)
    assert "Un rendez-vous se fixe à venir : cette date est passée." in page
    assert "Mairie, bureau 2" in page
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED


@pytest.mark.parametrize("action", ["withdraw", "propose_transfer", "correct_attendance"])
def test_a_move_the_link_may_not_make_is_refused_and_journaled(world, client, action):
    referral = world.send()
    response = client.post(_url(referral, action=action), {"reason": "x", "comment": "x"})
    assert response.status_code == 403
    assert "Action impossible" in _text(response)
    denied = AccessEvent.objects.get(operation="denied", object_id=referral.pk)
    assert denied.detail["receiver_link"] == _link(referral).pk
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


def test_an_unknown_or_system_move_is_not_found(world, client):
    referral = world.send()
    assert client.post(_url(referral, action="teleport")).status_code == 404
    assert client.post(_url(referral, action="expire")).status_code == 404


# --- what opens nothing -----------------------------------------------------------------------


def test_a_forged_token_is_a_french_not_found_page(world, client):
    referral = world.send()
    token = token_of(_link(referral))
    for bad in (token[:-3] + "abc", token_for(_link(referral).pk, "devine"), "abc"):
        response = client.get(_url(referral, bad))
        assert response.status_code == 404
        assert "Ce lien n'est pas valide" in _text(response)
        assert client.post(_url(referral, bad, "accept")).status_code == 404
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.SENT


def test_the_token_on_another_referrals_url_is_refused(world, client):
    first = world.send()
    second = world.send(person=PersonFactory(first_name="Marc", last_name="Dupont"))
    token = token_of(_link(first))
    response = client.get(_url(second, token))
    assert response.status_code == 404
    assert "Marc" not in _text(response)
    assert client.post(_url(second, token, "accept")).status_code == 404
    second.refresh_from_db()
    assert second.status == ReferralStatus.SENT


def test_expired_and_revoked_links_are_gone(world, client):
    referral = world.send()
    token = token_of(_link(referral))
    later = timezone.now() + dt.timedelta(days=settings.PARCOURS_RECEIVER_LINK_DAYS, hours=1)
    with time_machine.travel(later):
        response = client.get(_url(referral, token))
    assert response.status_code == 410
    assert "Lien expiré" in _text(response)
    sender = Client()
    sender.force_login(world.sender.user)
    sender.post(reverse("web:referral-receiver-link", args=[referral.pk, "revoquer"]))
    response = client.get(_url(referral, token))
    assert response.status_code == 410
    assert "Lien révoqué" in _text(response)
    assert client.post(_url(referral, token, "accept")).status_code == 410


# --- the sender's side ------------------------------------------------------------------------


def test_the_sender_sees_the_links_state_revokes_it_and_sends_a_new_one(world):
    referral = world.send()
    sender = Client()
    sender.force_login(world.sender.user)
    page = _text(sender.get(reverse("web:referral-detail", args=[referral.pk])))
    assert "Lien d'accès sans compte de CCAS de Bapaume" in page
    assert "Révoquer le lien" in page
    response = sender.post(reverse("web:referral-receiver-link", args=[referral.pk, "revoquer"]))
    assert response.status_code == 302
    page = _text(sender.get(response.url))
    assert "Lien d'accès révoqué" in page and "Révoqué" in page
    assert not ReceiverLink.objects.filter(referral=referral, revoked_at__isnull=True).exists()
    # Revoking twice: a French message, nothing else.
    response = sender.post(
        reverse("web:referral-receiver-link", args=[referral.pk, "revoquer"]), follow=True
    )
    assert "pas de lien d'accès en vigueur" in _text(response)
    sender.post(reverse("web:referral-receiver-link", args=[referral.pk, "nouveau"]))
    assert ReceiverLink.objects.filter(referral=referral, revoked_at__isnull=True).count() == 1


def test_the_receiver_or_a_stranger_may_not_revoke(world):
    referral = world.send()
    ccas_member = sender_actor(world.ccas)
    client = Client()
    client.force_login(ccas_member.user)
    url = reverse("web:referral-receiver-link", args=[referral.pk, "revoquer"])
    assert client.post(url).status_code == 403
    outsider = sender_actor(OrganisationFactory(name="Mission locale"))
    other = Client()
    other.force_login(outsider.user)
    assert other.post(url).status_code == 404  # out of scope: not found, like a missing one
    assert ReceiverLink.objects.filter(referral=referral, revoked_at__isnull=True).exists()
    # The receiver's page of the referral shows no such block to the receiver.
    page = _text(client.get(reverse("web:referral-detail", args=[referral.pk])))
    assert "Révoquer le lien" not in page


def test_a_manager_of_the_sender_may_revoke(world):
    referral = world.send()
    manager = sender_actor(world.france_travail, Role.MANAGER)
    client = Client()
    client.force_login(manager.user)
    url = reverse("web:referral-receiver-link", args=[referral.pk, "revoquer"])
    assert client.post(url).status_code == 302
    assert not ReceiverLink.objects.filter(referral=referral, revoked_at__isnull=True).exists()
    unknown = reverse("web:referral-receiver-link", args=[referral.pk, "x"])
    assert client.post(unknown).status_code == 404


def test_too_many_refused_tokens_from_one_address_are_throttled(world, client, settings):
    settings.PARCOURS_RECEIVER_LINK_REFUSALS = REFUSALS_ALLOWED = 5
    referral = world.send()
    token = token_of(_link(referral))
    address = {"REMOTE_ADDR": "203.0.113.77"}
    for n in range(REFUSALS_ALLOWED):
        guess = token_for(_link(referral).pk, f"devine-{n}")
        assert client.get(_url(referral, guess), **address).status_code == 404
    # Even the right token, from that address, waits for the window to end.
    response = client.get(_url(referral, token), **address)
    assert response.status_code == 429
    assert "Trop de liens non valides" in _text(response)
    # Another address is not concerned.
    assert client.get(_url(referral, token), REMOTE_ADDR="198.51.100.4").status_code == 200
