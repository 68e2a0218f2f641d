"""/api/v1/answers/ (issue 14): the receivers' answers to the referrals the acting user sent,
listed in French without naming the person, and marked seen through the same service as the
home's button — the recipient only, anyone else 404."""

import datetime as dt

import pytest

from notifications.models import AnswerNotice, NotificationPreference
from notifications.services.relay import outbox_relay
from parcours.models import AccessEvent, Role
from tests.factories import MembershipFactory

from .conftest import paris

pytestmark = pytest.mark.django_db

SENT = paris(2026, 1, 5, 10)
H = dt.timedelta(hours=1)


@pytest.fixture
def answered(journey):
    """Refused, then a second referral accepted and given an appointment."""
    j = journey(SENT)
    j.refuse(SENT + H)
    other = journey(SENT).accept(SENT + H)
    other.book(SENT + 2 * H, starts_at=paris(2026, 1, 8, 14))
    return j, other


def test_the_sender_lists_its_answers_in_french_without_the_person(answered, client_for):
    j, other = answered
    outbox_relay()  # the refusal's e-mail leaves; the others too
    response = client_for(j.sender).get("/api/v1/answers/")
    assert response.status_code == 200
    (refusal,) = response.json()["results"]
    assert refusal["referral"] == j.referral.pk
    assert refusal["referral_reference"] == j.referral.reference
    assert refusal["receiver_organisation"] == j.receiver.organisation.pk
    assert refusal["receiver_organisation_name"] == j.receiver.organisation.name
    assert (refusal["answer"], refusal["answer_label"]) == ("refused", "Orientation refusée")
    assert refusal["detail"] == "Motif : Plus de place disponible"
    assert refusal["text"] == (
        f"{j.receiver.organisation.name} a refusé l'orientation {j.referral.reference} le "
        "05/01/2026 à 11:00. Motif : Plus de place disponible."
    )
    assert refusal["seen_at"] is None
    assert (refusal["mode"], refusal["email_status"], refusal["email_status_label"]) == (
        "immediate",
        "sent",
        "Envoyé",
    )
    assert "Léa" not in response.content.decode() and "Martin" not in response.content.decode()

    body = client_for(other.sender).get("/api/v1/answers/").json()["results"]
    assert [a["answer"] for a in body] == ["appointment_set", "accepted"]  # newest first
    assert body[0]["appointment_starts_at"] is not None
    assert body[0]["detail"] == "Rendez-vous le 08/01/2026 à 14:00"


def test_listing_answers_journals_nothing_as_they_name_no_one(answered, client_for):
    j, _other = answered
    before = AccessEvent.objects.count()
    assert client_for(j.sender).get("/api/v1/answers/").status_code == 200
    assert AccessEvent.objects.count() == before


def test_marking_seen_and_filtering_the_unseen(answered, client_for):
    _j, other = answered
    client = client_for(other.sender)
    newest, oldest = client.get("/api/v1/answers/").json()["results"]
    response = client.post(f"/api/v1/answers/{oldest['id']}/seen/")
    assert response.status_code == 200
    assert response.json()["id"] == oldest["id"]
    first_seen = response.json()["seen_at"]
    assert first_seen is not None
    assert client.post(f"/api/v1/answers/{oldest['id']}/seen/").json()["seen_at"] == first_seen
    unseen = client.get("/api/v1/answers/", {"seen": "false"}).json()["results"]
    assert [a["id"] for a in unseen] == [newest["id"]]
    seen = client.get("/api/v1/answers/", {"seen": "true"}).json()["results"]
    assert [a["id"] for a in seen] == [oldest["id"]]
    by_kind = client.get("/api/v1/answers/", {"answer": "accepted"}).json()["results"]
    assert [a["id"] for a in by_kind] == [oldest["id"]]
    assert client.get("/api/v1/answers/", {"answer": "weekly"}).status_code == 400


def test_nobody_else_reads_or_marks_the_answer(answered, client_for, make_actor):
    j, _other = answered
    notice = AnswerNotice.objects.get(referral=j.referral)
    colleague = make_actor(organisation=j.sender.organisation)
    manager = make_actor(organisation=j.sender.organisation, role=Role.MANAGER)
    stranger = make_actor(mission_locale=True)
    for actor in (j.receiver, colleague, manager, stranger):
        client = client_for(actor)
        assert client.get("/api/v1/answers/").json()["results"] == []
        assert client.get(f"/api/v1/answers/{notice.pk}/").status_code == 404
        response = client.post(f"/api/v1/answers/{notice.pk}/seen/")
        assert response.status_code == 404
        assert response.json() == {"detail": "Non trouvé."}
    # The recipient acting for another of their organisations: that one's answers only.
    MembershipFactory(user=j.sender.user, organisation=stranger.organisation)
    client = client_for(j.sender)
    client.credentials(HTTP_X_PARCOURS_ORGANISATION=str(stranger.organisation.pk))
    assert client.get("/api/v1/answers/").json()["results"] == []
    assert client.post(f"/api/v1/answers/{notice.pk}/seen/").status_code == 404
    notice.refresh_from_db()
    assert notice.seen_at is None


def test_a_digest_answer_says_it_waits_for_the_digest(journey, client_for):
    j = journey(SENT)
    NotificationPreference.objects.create(user=j.sender.user, answers_mode="digest")
    j.accept(SENT + H)
    (answer,) = client_for(j.sender).get("/api/v1/answers/").json()["results"]
    assert (answer["mode"], answer["email_status"], answer["email_status_label"]) == (
        "digest",
        "awaiting_digest",
        "En attente du récapitulatif quotidien",
    )
