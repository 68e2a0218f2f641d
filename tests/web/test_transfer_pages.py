"""Réorientation on the pages (issue 14): the receiver proposes another partner on its own page
(the directory's picker, the chosen organisation's services, a reason); the sender confirms or
declines on the referral's page, each behind a DSFR confirmation; the original says where the
person went, the new one where it comes from; the inbox shows the state in French.
The permission matrix (allow, deny, journal) of these pages: test_page_matrix.py; junk in their
forms: test_form_fuzz.py."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import AccessEvent, Referral, ReferralStatus, Role
from tests.factories import ConsentFactory, MembershipFactory

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db

REASON = "Un accompagnement renforcé pour les moins de 26 ans"


@pytest.fixture
def world():
    w = World()
    w.receiver = MembershipFactory(organisation=w.siae, role=Role.COUNSELLOR).user
    # Léa agreed to the Mission locale receiving what a referral carries.
    ConsentFactory(person=w.person, organisations=[w.elsewhere])
    return w


def _detail(referral) -> str:
    return reverse("web:referral-detail", args=[referral.pk])


def _transfer(referral) -> str:
    return reverse("web:referral-transfer", args=[referral.pk])


def _move(referral, action: str) -> str:
    return reverse("web:referral-move", kwargs={"pk": referral.pk, "action": action})


def _text(response) -> str:
    html = response.content.decode().replace("&#x27;", "'")
    return re.sub(r"\s+", " ", html)


def _propose(world) -> None:
    response = client_of(world.receiver).post(
        _transfer(world.outgoing),
        {"receiver_organisation": world.elsewhere.pk, "reason": REASON},
    )
    assert response.status_code == 302
    assert response.url == _detail(world.outgoing)


def test_the_receiver_is_offered_a_transfer_and_the_sender_is_not(world):
    received = _text(client_of(world.receiver).get(_detail(world.outgoing)))
    assert "Proposer une réorientation" in received
    assert f'href="{_transfer(world.outgoing)}"' in received
    sent = _text(client_of(world.me).get(_detail(world.outgoing)))
    assert "Proposer une réorientation" not in sent


def test_the_transfer_page_uses_the_directory_picker(world):
    page = _text(client_of(world.receiver).get(_transfer(world.outgoing)))
    assert "<h1>Proposer une réorientation</h1>" in page
    assert "Partenaire proposé : recherche dans l'annuaire des partenaires" in page
    assert 'hx-vals=\'{"champ": "receiver_organisation"}\'' in page
    assert "Motif de la réorientation" in page
    # Without JavaScript, « Rechercher » posts the form back: shown again, nothing written.
    searched = client_of(world.receiver).post(
        _transfer(world.outgoing),
        {"rechercher": "receiver_organisation", "annuaire-q": "Mission", "reason": REASON},
    )
    assert searched.status_code == 200
    assert "Mission locale Arras" in _text(searched)
    assert REASON.replace("'", "&#x27;") in searched.content.decode()
    assert Referral.objects.get(pk=world.outgoing.pk).status == ReferralStatus.SENT


def test_propose_then_confirm_then_both_pages_say_where_the_person_went(world):
    _propose(world)
    waiting = _text(client_of(world.receiver).get(_detail(world.outgoing)))
    assert "Réorientation proposée vers Mission locale Arras" in waiting
    assert f"motif : {REASON}" in waiting
    assert "En attente de la réponse de France Travail Lens" in waiting
    assert "Confirmer la réorientation" not in waiting  # the sender's to answer

    sender = client_of(world.me)
    page = _text(sender.get(_detail(world.outgoing)))
    # Each answer opens a DSFR modal saying what follows, in French, naming the person.
    for key in ("confirm_transfer", "decline_transfer"):
        assert f'data-fr-opened="false" aria-controls="modale-{key}"' in page
    assert (
        "L'orientation de Léa Martin vers Chantier Les Jardins prendra fin ; une nouvelle "
        "orientation, à votre nom, sera envoyée aussitôt à Mission locale Arras" in page
    )
    assert "l'orientation revient à Chantier Les Jardins, qui devra y répondre" in page

    # Without JavaScript: asked first, nothing written.
    writes = AccessEvent.objects.filter(user=world.me, operation="write").count()
    unconfirmed = sender.post(_move(world.outgoing, "confirm_transfer"))
    assert unconfirmed.status_code == 400
    assert "Confirmez l'action : rien n'a encore été enregistré." in _text(unconfirmed)
    assert Referral.objects.get(pk=world.outgoing.pk).status == ReferralStatus.TRANSFER_PROPOSED
    assert AccessEvent.objects.filter(user=world.me, operation="write").count() == writes

    done = sender.post(_move(world.outgoing, "confirm_transfer"), {"confirm": "1"})
    assert done.status_code == 302
    original = Referral.objects.get(pk=world.outgoing.pk)
    assert original.status == ReferralStatus.TRANSFERRED
    new = original.transferred_to

    page = _text(sender.get(_detail(original)))
    # The page dates in Paris time: between 23:00 and midnight UTC that is already tomorrow.
    transferred_on = timezone.localtime(original.transferred_at)
    assert f"Réorientée vers Mission locale Arras le {transferred_on:%d/%m/%Y}" in page
    assert f'href="{_detail(new)}">l\'orientation {new.reference}</a>' in page
    assert ">Réorientée</p>" in page  # the state, in French
    follows = _text(sender.get(_detail(new)))
    assert (
        f'Suite de la réorientation de <a href="{_detail(original)}">l\'orientation '
        f"{original.reference}</a>, proposée par Chantier Les Jardins ; motif : {REASON}"
    ) in follows
    assert ">Envoyée</p>" in follows
    # The person's timeline tells both, in French.
    timeline = _text(sender.get(reverse("web:person-detail", args=[world.person.pk])))
    assert (
        f"Orientation {original.reference} (réorientée) : France Travail Lens, Réorientée "
        "vers Mission locale Arras." in timeline
    )
    assert (
        f"Orientation {new.reference} (envoyée) : France Travail Lens, Suite de la "
        f"réorientation de {original.reference}." in timeline
    )
    assert (
        f"Orientation {original.reference} (réorientation proposée) : Chantier Les Jardins, "
        f"Réorientation proposée vers Mission locale Arras. Motif : {REASON}" in timeline
    )


def test_the_sender_declines_with_a_comment_and_the_receiver_answers_again(world):
    _propose(world)
    response = client_of(world.me).post(
        _move(world.outgoing, "decline_transfer"),
        {"comment": "Elle connaît déjà l'équipe du chantier", "confirm": "1"},
    )
    assert response.status_code == 302
    referral = Referral.objects.get(pk=world.outgoing.pk)
    assert referral.status == ReferralStatus.SENT
    page = _text(client_of(world.receiver).get(_detail(referral)))
    assert "Réorientation proposée" not in page
    assert "Proposer une réorientation" in page
    assert "Refuser</h3>" in page  # accept, refuse… again


def test_a_referral_no_longer_open_to_a_proposal_says_why(world):
    _propose(world)
    client = client_of(world.receiver)
    response = client.get(_transfer(world.outgoing))
    assert response.status_code == 302
    page = _text(client.get(response.url))
    assert (
        "Impossible de « proposer une réorientation » : l'orientation est à l'état "
        "« Réorientation proposée »."
    ) in page


def test_the_inbox_shows_and_filters_the_state_in_french(world):
    world.incoming.status = ReferralStatus.TRANSFER_PROPOSED
    world.incoming.transfer_organisation = world.elsewhere
    world.incoming.transfer_reason = REASON
    world.incoming.transfer_proposed_at = world.incoming.sent_at
    world.incoming.save()
    client = client_of(world.me)
    listed = _text(client.get(reverse("web:inbox"), {"statut": "transfer_proposed"}))
    assert '<option value="transfer_proposed" selected>Réorientation proposée</option>' in listed
    assert world.incoming.reference in listed
    assert ">Réorientation proposée</p>" in listed
    assert "transfer_proposed<" not in listed
    others = _text(client.get(reverse("web:inbox"), {"statut": "sent"}))
    assert world.incoming.reference not in others


def test_the_move_url_does_not_take_a_proposal(world):
    """The proposal names a partner picked in the directory: its own page, not a move button."""
    response = client_of(world.receiver).post(
        _move(world.outgoing, "propose_transfer"),
        {"receiver_organisation": world.elsewhere.pk, "reason": REASON},
    )
    assert response.status_code == 404
    response = client_of(world.receiver).post(
        _move(world.outgoing, "transfer_under_agreement"),
        {"receiver_organisation": world.elsewhere.pk, "reason": REASON},
    )
    assert response.status_code == 404
    assert Referral.objects.get(pk=world.outgoing.pk).status == ReferralStatus.SENT
