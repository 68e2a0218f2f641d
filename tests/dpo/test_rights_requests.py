"""Rights requests recorded by the DPO: legal due date, one extension, decisions as data
(RIGHTS_REQUEST_MOVES), a granted objection takes effect at once."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from parcours import access
from parcours.dates import add_months
from parcours.models import (
    RIGHTS_REQUEST_MOVES,
    AccessEvent,
    Objection,
    RightsRequest,
    RightsRequestStatus,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/dpo/rights-requests/"


def _record(client, person, kind="objection", received_on=None):
    return client.post(
        URL,
        {
            "person": person.pk,
            "kind": kind,
            "channel": "email",
            "received_on": (received_on or timezone.localdate()).isoformat(),
            "details": "Je ne veux plus que mes données soient partagées.",
        },
        format="json",
    )


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
        (dt.date(2026, 3, 15), dt.date(2026, 4, 15)),
        (dt.date(2026, 12, 20), dt.date(2027, 1, 20)),
    ],
)
def test_one_month_to_answer(received, due):
    assert add_months(received, 1) == due


def test_record_extend_and_refuse(history, client_for):
    client = client_for(history["siae_dpo"])
    with time_machine.travel(dt.datetime(2026, 3, 20, 10, tzinfo=dt.UTC)):
        response = _record(client, history["person"], kind="erasure")
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["received_on"], body["due_on"], body["status"]) == (
            "2026-03-20",
            "2026-04-20",
            "received",
        )
        assert body["kind_label"] == "Effacement (art. 17)" and not body["overdue"]
        pk = body["id"]
        extended = client.post(
            f"{URL}{pk}/extend/", {"reason": "Dossier volumineux"}, format="json"
        )
        assert extended.json()["due_on"] == "2026-06-20"
        again = client.post(f"{URL}{pk}/extend/", {"reason": "Encore"}, format="json")
        assert again.status_code == 409
        assert again.json()["detail"] == "Le délai de réponse a déjà été prolongé une fois."
    with time_machine.travel(dt.datetime(2026, 6, 22, 10, tzinfo=dt.UTC)):
        assert client.get(f"{URL}{pk}/").json()["overdue"] is True
        no_reason = client.post(f"{URL}{pk}/decide/", {"status": "refused"}, format="json")
        assert no_reason.status_code == 400 and "decision" in no_reason.json()
        refused = client.post(
            f"{URL}{pk}/decide/",
            {"status": "refused", "decision": "Conservation imposée par le CASF (rSa)."},
            format="json",
        )
        assert refused.status_code == 200
        assert refused.json()["status"] == "refused" and not refused.json()["overdue"]
        closed = client.post(
            f"{URL}{pk}/decide/", {"status": "granted", "decision": "Finalement oui"}, format="json"
        )
        assert closed.status_code == 409
    request = RightsRequest.objects.get(pk=pk)
    assert [h.history_change_reason for h in request.history.order_by("history_id")] == [
        "Demande d'exercice de droits reçue",
        "Délai de réponse prolongé",
        "Demande d'exercice de droits traitée",
    ]
    assert AccessEvent.objects.filter(object_type="rights_request", object_id=pk).count() == 2


def test_a_granted_objection_withdraws_consent_based_visibility(history, client_for):
    person, siae = history["person"], history["siae"]
    # Before: the SIAE sees the person through the referral and the person's consent.
    assert access.persons_visible_to(siae).filter(pk=person.pk).exists()
    client = client_for(history["owner_dpo"])
    pk = _record(client, person).json()["id"]
    granted = client.post(
        f"{URL}{pk}/decide/",
        {"status": "granted", "decision": "Opposition enregistrée le jour même."},
        format="json",
    )
    assert granted.status_code == 200, granted.content
    objection = Objection.objects.get(person=person, withdrawn_at__isnull=True)
    assert objection.reason == f"Demande d'opposition n°{pk}"
    assert objection.recorded_by == history["owner_dpo"].user
    # After: no consent-based basis remains for the SIAE (it has no legal basis of its own):
    # only the minimum of the referral it must still answer (identity and the pathway, under
    # the referral itself — ADR 0010), and nothing the consents covered.
    pathway_id = history["pathway"].pk
    grants = access.grants_for(siae, [pathway_id])[pathway_id]
    referral = f"referral:{history['referral'].pk}"
    assert grants.bases["identity"] == grants.bases["pathway"] == {referral}
    assert "social" not in grants.categories  # the consent's category is gone
    assert not any(code.startswith("consent:") for codes in grants.bases.values() for code in codes)


def test_the_table_of_moves_is_what_the_service_allows():
    assert RIGHTS_REQUEST_MOVES[RightsRequestStatus.RECEIVED] == {
        RightsRequestStatus.GRANTED,
        RightsRequestStatus.REFUSED,
    }
    assert not RIGHTS_REQUEST_MOVES[RightsRequestStatus.GRANTED]
    assert not RIGHTS_REQUEST_MOVES[RightsRequestStatus.REFUSED]


def test_bad_input_and_scope(history, client_for):
    client = client_for(history["owner_dpo"])
    future = timezone.localdate() + dt.timedelta(days=3)
    response = _record(client, history["person"], received_on=future)
    assert response.status_code == 400
    assert response.json()["received_on"] == ["La date de réception ne peut pas être future."]
    bad = client.post(URL, {"person": "x", "kind": "tout"}, format="json")
    assert bad.status_code == 400 and {"person", "kind", "received_on"} <= set(bad.json())
    assert _record(client_for(history["unrelated_dpo"]), history["person"]).status_code == 404
    pk = _record(client, history["person"]).json()["id"]
    # Another organisation's DPO neither sees nor answers it.
    other = client_for(history["siae_dpo"])
    assert other.get(f"{URL}{pk}/").status_code == 404
    assert pk not in [r["id"] for r in other.get(URL).json()["results"]]
    assert pk in [r["id"] for r in client_for(history["national_dpo"]).get(URL).json()["results"]]
    assert not RightsRequest.objects.filter(status="granted").exists()


def test_a_granted_erasure_anonymises_the_person_now(history, client_for):
    person, pathway = history["person"], history["pathway"]
    client = client_for(history["owner_dpo"])
    pk = _record(client, person, kind="erasure").json()["id"]
    granted = client.post(
        f"{URL}{pk}/decide/",
        {"status": "granted", "decision": "Aucune obligation de conservation : dossier effacé."},
        format="json",
    )
    assert granted.status_code == 200, granted.content
    person.refresh_from_db()
    pathway.refresh_from_db()
    assert person.anonymised_at is not None and pathway.anonymised_at is not None
    assert (person.first_name, person.last_name) != ("Léa", "Martin")
    assert person.birth_year == 1990 and person.birth_date == dt.date(1990, 1, 1)
    # Nobody sees the record any more; the journal (ids only) and the request itself remain.
    for key in ("owner", "siae"):
        assert not access.persons_visible_to(history[key]).filter(pk=person.pk).exists()
    assert AccessEvent.objects.filter(person_id=person.pk, operation="read").exists()
    assert RightsRequest.objects.get(pk=pk).status == RightsRequestStatus.GRANTED
