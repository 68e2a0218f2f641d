"""Access requests in the pages (issue 13): a counsellor who finds the person already followed
elsewhere asks for access from the creation form (the identifiers carried in the form, never in
a URL), the holder answers on its page, and the requester's organisation joins the care team —
the same services and gate as /api/v1/access-requests/. Mistakes come back in French."""

import datetime as dt

import pytest
from django.urls import reverse

from parcours.models import AccessRequest, CareTeamMember, Person, Role
from tests.factories import MembershipFactory, OrganisationFactory, valid_nir

from .test_pages import client_of

pytestmark = pytest.mark.django_db

NIR = valid_nir(41)


@pytest.fixture
def holder():
    organisation = OrganisationFactory(name="France Travail Lens")
    return MembershipFactory(organisation=organisation, role=Role.COUNSELLOR).user


@pytest.fixture
def asker():
    organisation = OrganisationFactory(mission_locale=True, name="Mission locale Arras")
    return MembershipFactory(organisation=organisation, role=Role.COUNSELLOR).user


def _create_person(client, **changes):
    data = {"first_name": "Inès", "last_name": "Robert", "birth_date": "2004-04-02", "nir": NIR}
    return client.post(reverse("web:person-create"), {**data, **changes})


def test_from_the_duplicate_to_the_care_team(holder, asker):
    assert _create_person(client_of(holder)).status_code == 302
    person = Person.objects.get()
    asking = client_of(asker)

    # The duplicate: no name, no record, a button that carries the identifiers in a POST.
    page = _create_person(asking, first_name="Ines").content.decode()
    assert "suivie par une autre organisation" in page
    assert "Demander l&#x27;accès à son dossier" in page or "Demander l'accès à son dossier" in page
    assert f'name="nir" value="{NIR}"' in page
    prefilled = asking.post(
        reverse("web:access-request-create"), {"prefill": "1", "nir": NIR, "france_travail_id": ""}
    )
    assert prefilled.status_code == 200
    assert f'value="{NIR}"' in prefilled.content.decode()
    assert not AccessRequest.objects.exists()  # shown filled, nothing sent yet

    sent = asking.post(
        reverse("web:access-request-create"),
        {"nir": NIR, "reason": "Entrée en garantie jeunes"},
    )
    assert sent.status_code == 302
    request = AccessRequest.objects.get()
    assert (request.status, request.reason) == ("pending", "Entrée en garantie jeunes")

    # The holder sees it on « À traiter » and on its page, then accepts.
    holding = client_of(holder)
    assert "Demandes d'accès à traiter : 1" in holding.get("/").content.decode()
    listing = holding.get(reverse("web:access-requests")).content.decode()
    assert "Entrée en garantie jeunes" in listing and "Inès Robert" in listing
    accepted = holding.post(
        reverse("web:access-request-decide", args=[request.pk, "accepter"]), {"comment": ""}
    )
    assert accepted.status_code == 302
    assert CareTeamMember.objects.filter(
        pathway__person=person, organisation=asker.memberships.get().organisation
    ).exists()
    # The asker now sees the record (a Mission locale holds a legal basis for someone under
    # 26, as a member of the care team); its page says the answer.
    assert asking.get(reverse("web:person-detail", args=[person.pk])).status_code == 200
    assert "Acceptée" in asking.get(reverse("web:access-requests")).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nir": "", "france_travail_id": "", "reason": "Suivi"}, "NIR ou identifiant France"),
        ({"nir": NIR, "reason": ""}, "Ce champ est obligatoire."),
        ({"nir": NIR, "reason": "x" * 1001}, "au plus 1000 caractères"),
        ({"nir": "1" * 40, "reason": "Suivi"}, "au plus 30 caractères"),
        ({"nir": valid_nir(42), "reason": "Suivi"}, "Aucun dossier ouvert ne correspond"),
    ],
)
def test_mistakes_come_back_in_french_with_what_was_typed(holder, asker, data, message):
    _create_person(client_of(holder))
    response = client_of(asker).post(reverse("web:access-request-create"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    if data.get("reason"):
        assert data["reason"][:40] in html
    assert not AccessRequest.objects.exists()


def test_the_asker_cannot_answer_its_own_request(holder, asker):
    _create_person(client_of(holder))
    client_of(asker).post(reverse("web:access-request-create"), {"nir": NIR, "reason": "Suivi"})
    request = AccessRequest.objects.get()
    response = client_of(asker).post(
        reverse("web:access-request-decide", args=[request.pk, "accepter"])
    )
    assert response.status_code == 403
    assert AccessRequest.objects.get().status == "pending"
    # A third organisation does not even see it.
    third = MembershipFactory(organisation=OrganisationFactory(), role=Role.COUNSELLOR).user
    assert (
        client_of(third)
        .post(reverse("web:access-request-decide", args=[request.pk, "refuser"]))
        .status_code
        == 404
    )


def test_answering_twice_says_it_was_answered(holder, asker):
    _create_person(client_of(holder))
    client_of(asker).post(reverse("web:access-request-create"), {"nir": NIR, "reason": "Suivi"})
    request = AccessRequest.objects.get()
    holding = client_of(holder)
    holding.post(reverse("web:access-request-decide", args=[request.pk, "refuser"]))
    again = holding.post(
        reverse("web:access-request-decide", args=[request.pk, "accepter"]), follow=True
    )
    assert "Cette demande a déjà reçu une réponse." in again.content.decode()
    assert AccessRequest.objects.get().status == "refused"


def test_birth_dates_and_names_never_travel_in_a_url(holder, asker):
    _create_person(client_of(holder))
    page = _create_person(client_of(asker), first_name="Ines").content.decode()
    start = page.index('action="/demandes-d-acces/nouvelle/"')
    assert 'method="post"' in page[start - 40 : start]
    assert dt.date(2004, 4, 2).isoformat() not in page[start : page.index("</form>", start)]
