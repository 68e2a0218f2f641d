"""The « Messages » section of the referral page and the unread counts of the inbox: the thread
shown (and marked read, and journaled) to the case workers of the referral's two parties only,
the form's French errors with the text kept, the 403 page for a bystander or a manager, 404 out
of scope, the inbox's queries constant."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from notifications.models import OutboxMessage
from parcours.models import MESSAGE_MAX_LENGTH, AccessEvent, ReferralMessage
from tests.factories import (
    ConsentFactory,
    PathwayFactory,
    ReferralFactory,
    ReferralMessageFactory,
)
from tests.rows import snapshot

from .conftest import TEXT

pytestmark = pytest.mark.django_db


def _client(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def _detail(referral) -> str:
    return reverse("web:referral-detail", args=[referral.pk])


def _post_url(referral) -> str:
    return reverse("web:referral-message-post", args=[referral.pk])


def _last_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_the_receiver_reads_the_thread_and_it_is_read(thread_world):
    referral = thread_world.referral
    old = ReferralMessageFactory(referral=referral, text="Premier message déjà lu")
    client = _client(thread_world.receiver)
    client.get(_detail(referral))  # the SIAE read the first message
    ReferralMessageFactory(referral=referral, text="Léa a-t-elle le permis B ?\nMerci.")
    before = _last_id()
    page = client.get(_detail(referral)).content.decode()
    assert 'id="messages"' in page
    assert "Léa a-t-elle le permis B ?<br>Merci." in page
    assert page.count("Nouveau</span>") == 1  # only the message the SIAE had not read
    assert page.index("Premier message déjà lu") < page.index("permis B")  # oldest first
    assert "Écrire à France Travail Lens" in page
    rows = list(AccessEvent.objects.filter(id__gt=before).order_by("id"))
    assert [(r.operation, r.detail["action"], r.categories) for r in rows] == [
        ("read", "referral.read", ["identity", "pathway"]),
        ("read", "referral_message.read", ["pathway"]),
    ]
    assert {r.object_id for r in rows} == {referral.pk}
    assert rows[1].purpose == "Traitement d'une orientation reçue"
    # Read now, for the whole SIAE: nothing is new on the next visit, a colleague's included.
    page = _client(thread_world.receiver_colleague).get(_detail(referral)).content.decode()
    assert "Nouveau</span>" not in page
    assert old.text in page


def test_an_empty_thread_shows_the_form_and_journals_no_thread(thread_world):
    before = _last_id()
    page = _client(thread_world.sender).get(_detail(thread_world.referral)).content.decode()
    assert "Aucun message pour l'instant." in page
    assert "Écrire à Chantier Les Jardins" in page
    (row,) = AccessEvent.objects.filter(id__gt=before)
    assert row.detail["action"] == "referral.read"


def test_the_sender_writes_and_the_receiver_is_told(thread_world):
    client = _client(thread_world.sender)
    response = client.post(_post_url(thread_world.referral), {"text": TEXT})
    assert response.status_code == 302
    assert response.url == _detail(thread_world.referral) + "#messages"
    message = ReferralMessage.objects.get()
    assert (message.text, message.author) == (TEXT, thread_world.sender.user)
    assert list(
        OutboxMessage.objects.filter(referral_message=message).values_list("to_email", flat=True)
    ) == [thread_world.siae.contact_email]
    page = client.get(response.url).content.decode()
    assert "Message envoyé : l&#x27;autre organisation en est prévenue." in page
    assert escape(TEXT) in page
    write = AccessEvent.objects.get(operation="write")
    assert (write.detail, write.object_id) == (
        {"door": "page", "action": "referral_message.post"},
        thread_world.referral.pk,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Ce champ est obligatoire."),
        ("   ", "Ce champ est obligatoire."),
        ("é" * (MESSAGE_MAX_LENGTH + 1), "Assurez-vous que cette valeur comporte au plus 2000"),
        ("Léa\x00Martin", "Le caractère nul n’est pas autorisé."),
    ],
)
def test_a_bad_text_comes_back_in_french_as_typed(thread_world, text, says):
    before = snapshot()
    response = _client(thread_world.sender).post(_post_url(thread_world.referral), {"text": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert escape(says) in page
    assert "fr-input--error" in page
    if text.strip() and "\x00" not in text:
        assert escape(text) in page  # what was typed is not lost
    assert snapshot() == before  # nothing written, not even a read mark


@pytest.mark.parametrize("who", ["bystander", "manager", "receiver_manager"])
def test_a_bystander_or_a_manager_sees_no_thread_and_may_not_write(thread_world, who):
    ReferralMessageFactory(referral=thread_world.referral, text="Un échange entre partenaires")
    client = _client(getattr(thread_world, who))
    before = _last_id()
    page = client.get(_detail(thread_world.referral)).content.decode()
    assert 'id="messages"' not in page
    assert "Un échange entre partenaires" not in page
    assert [r.detail["action"] for r in AccessEvent.objects.filter(id__gt=before)] == [
        "referral.read"
    ]
    state = snapshot()
    response = client.post(_post_url(thread_world.referral), {"text": TEXT})
    assert response.status_code == 403
    assert "Seuls" in response.content.decode()
    assert snapshot() == state
    refusal = AccessEvent.objects.order_by("-id").first()
    assert (refusal.operation, refusal.detail["refusal"], refusal.detail["action"]) == (
        "denied",
        "not_allowed",
        "referral_message.post",
    )


def test_out_of_scope_is_not_found(thread_world):
    state = snapshot()
    response = _client(thread_world.stranger).post(_post_url(thread_world.referral), {"text": TEXT})
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()
    assert snapshot() == state


def test_a_draft_says_when_messages_open(thread_world):
    draft = thread_world.referral_in()
    page = _client(thread_world.sender).get(_detail(draft)).content.decode()
    assert "une fois l'orientation envoyée" in page
    assert 'action="' + _post_url(draft) not in page
    response = _client(thread_world.sender).post(_post_url(draft), {"text": TEXT})
    assert response.status_code == 400  # the service's refusal, on the form
    assert "n&#x27;est pas encore envoyée" in response.content.decode()
    assert not ReferralMessage.objects.exists()


def _inbox_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("web:inbox"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_inbox_shows_unread_counts_at_a_constant_cost(thread_world):
    client = _client(thread_world.receiver)
    client.get(reverse("web:inbox"))  # the session's first request settles it (a query of its own)
    ReferralMessageFactory.create_batch(2, referral=thread_world.referral)
    queries_with_one, page = _inbox_queries(client)
    assert "2 non lus" in page
    # Five more referrals received by the SIAE, each with an unread message.
    for _ in range(5):
        pathway = PathwayFactory(owner_organisation=thread_world.france_travail)
        ConsentFactory(
            person=pathway.person,
            organisations=[thread_world.siae],
            categories=["identity", "pathway"],
        )
        other = ReferralFactory(
            pathway=pathway,
            sender_user=thread_world.sender.user,
            receiver_organisation=thread_world.siae,
            sent=True,
            with_consent=False,
        )
        ReferralMessageFactory(referral=other)
    queries_with_six, page = _inbox_queries(client)
    assert page.count("1 non lu<") == 5
    assert queries_with_six == queries_with_one
    # Reading one thread takes its count off the inbox.
    client.get(_detail(thread_world.referral))
    _queries, page = _inbox_queries(client)
    assert "2 non lus" not in page
