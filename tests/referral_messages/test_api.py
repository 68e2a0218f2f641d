"""GET and POST /api/v1/referrals/{id}/messages/, and the referral's `unread_messages`: allowed
to the case workers of the referral's two parties, refused (403) to a care-team bystander and a
manager, not found (404) out of scope; bad text is a French 400; each access journaled once."""

import pytest

from parcours.models import MESSAGE_MAX_LENGTH, AccessEvent, ReferralMessage
from tests.factories import ReferralMessageFactory

from .conftest import TEXT

pytestmark = pytest.mark.django_db


def _url(referral) -> str:
    return f"/api/v1/referrals/{referral.pk}/messages/"


def _rows_after(before: int) -> list[AccessEvent]:
    return list(AccessEvent.objects.filter(id__gt=before).order_by("id"))


def _last_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_the_sender_posts_and_the_receiver_reads(thread_world, client_for):
    referral = thread_world.referral
    before = _last_id()
    response = client_for(thread_world.sender).post(_url(referral), {"text": TEXT}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["referral"] == referral.pk and body["text"] == TEXT
    assert body["author"]["id"] == thread_world.sender.user.pk
    assert body["author_organisation"]["name"] == "France Travail Lens"
    (write,) = _rows_after(before)
    assert (write.operation, write.object_id, write.detail) == (
        "write",
        referral.pk,
        {"door": "api", "action": "referral_message.post"},
    )

    receiver = client_for(thread_world.receiver)
    assert receiver.get(f"/api/v1/referrals/{referral.pk}/").json()["unread_messages"] == 1
    before = _last_id()
    listed = receiver.get(_url(referral))
    assert listed.status_code == 200
    assert [m["text"] for m in listed.json()["results"]] == [TEXT]
    (read,) = _rows_after(before)
    assert (read.operation, read.object_type, read.object_id) == ("read", "referral", referral.pk)
    assert read.detail == {"door": "api", "action": "referral_message.read"}
    assert read.categories == ["pathway"]
    assert read.purpose == "Traitement d'une orientation reçue"
    # Shown: read, for the whole SIAE.
    colleague = client_for(thread_world.receiver_colleague)
    assert colleague.get(f"/api/v1/referrals/{referral.pk}/").json()["unread_messages"] == 0


def test_the_thread_pages_newest_first_and_marks_what_it_shows(thread_world, client_for):
    referral = thread_world.referral
    messages = ReferralMessageFactory.create_batch(7, referral=referral)
    receiver = client_for(thread_world.receiver)
    detail = f"/api/v1/referrals/{referral.pk}/"
    assert receiver.get(detail).json()["unread_messages"] == 7
    first = receiver.get(_url(referral), {"page_size": 3}).json()
    assert [m["id"] for m in first["results"]] == [m.pk for m in messages[::-1][:3]]
    assert receiver.get(detail).json()["unread_messages"] == 0  # the newest was shown
    second = receiver.get(first["next"]).json()
    assert [m["id"] for m in second["results"]] == [m.pk for m in messages[::-1][3:6]]
    third = receiver.get(second["next"]).json()
    assert [m["id"] for m in third["results"]] == [messages[0].pk]
    assert third["next"] is None
    # An older page read again leaves the mark on the newest message.
    ReferralMessageFactory(referral=referral)
    receiver.get(second["next"])
    assert receiver.get(detail).json()["unread_messages"] == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Ce champ ne peut être vide."),
        ("   ", "Ce champ ne peut être vide."),
        (
            "x" * (MESSAGE_MAX_LENGTH + 1),
            f"Assurez-vous que ce champ comporte au plus {MESSAGE_MAX_LENGTH}\xa0caractères.",
        ),
    ],
)
def test_a_bad_text_is_a_french_400(thread_world, client_for, text, says):
    response = client_for(thread_world.sender).post(
        _url(thread_world.referral), {"text": text}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["text"] == [says]
    assert not ReferralMessage.objects.exists()


def test_a_missing_text_is_a_french_400(thread_world, client_for):
    response = client_for(thread_world.sender).post(_url(thread_world.referral), {}, format="json")
    assert response.status_code == 400
    assert response.json()["text"] == ["Ce champ est obligatoire."]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("who", ["bystander", "manager", "receiver_manager"])
def test_a_bystander_or_a_manager_is_refused_in_french(thread_world, client_for, who, method):
    ReferralMessageFactory(referral=thread_world.referral)
    client = client_for(getattr(thread_world, who))
    referral = thread_world.referral
    # It sees the referral itself, without a count of a thread it does not read.
    assert client.get(f"/api/v1/referrals/{referral.pk}/").json()["unread_messages"] is None
    before = _last_id()
    if method == "GET":
        response = client.get(_url(referral))
    else:
        response = client.post(_url(referral), {"text": TEXT}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert "Seuls" in response.json()["detail"]
    (refusal,) = _rows_after(before)
    assert (refusal.operation, refusal.object_id, refusal.detail["refusal"]) == (
        "denied",
        referral.pk,
        "not_allowed",
    )
    assert ReferralMessage.objects.count() == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_out_of_scope_is_not_found_like_a_missing_referral(thread_world, client_for, method):
    client = client_for(thread_world.stranger)
    referral = thread_world.referral
    if method == "GET":
        response, missing = client.get(_url(referral)), client.get("/api/v1/referrals/0/messages/")
    else:
        response = client.post(_url(referral), {"text": TEXT}, format="json")
        missing = client.post("/api/v1/referrals/0/messages/", {"text": TEXT}, format="json")
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json() == {"detail": "Non trouvé."}
    refusal = AccessEvent.objects.order_by("-id").first()
    assert (refusal.operation, refusal.object_id, refusal.detail["refusal"]) == (
        "denied",
        referral.pk,
        "not_found",
    )
    assert not ReferralMessage.objects.exists()


def test_a_draft_takes_no_message(thread_world, client_for):
    draft = thread_world.referral_in()
    response = client_for(thread_world.sender).post(_url(draft), {"text": TEXT}, format="json")
    assert response.status_code == 409
    assert "n'est pas encore envoyée" in response.json()["detail"]


def test_messages_are_never_edited_nor_deleted(thread_world, client_for):
    message = ReferralMessageFactory(referral=thread_world.referral)
    client = client_for(thread_world.sender)
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(_url(thread_world.referral), {}).status_code == 405
        response = getattr(client, method)(f"{_url(thread_world.referral)}{message.pk}/", {})
        assert response.status_code == 404
    assert ReferralMessage.objects.get(pk=message.pk).text == message.text


def test_the_referral_list_counts_unread_messages(thread_world, client_for):
    ReferralMessageFactory.create_batch(2, referral=thread_world.referral)
    other = thread_world.referral_in(sent=True)
    ReferralMessageFactory(referral=other, from_receiver=True)
    by_id = {
        r["id"]: r["unread_messages"]
        for r in client_for(thread_world.sender).get("/api/v1/referrals/").json()["results"]
    }
    assert by_id == {thread_world.referral.pk: 0, other.pk: 1}
    by_id = {
        r["id"]: r["unread_messages"]
        for r in client_for(thread_world.receiver).get("/api/v1/referrals/").json()["results"]
    }
    # The SIAE sees Léa's other referral (her pathway is shared with it), a thread it is no
    # party to: no count.
    assert by_id == {thread_world.referral.pk: 2, other.pk: None}
