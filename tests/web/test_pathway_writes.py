"""Writes on a pathway from the pages (issue 13): a note, a barrier, the modality, the référent,
closing, reactivating an archived record — each by who may (through the same services and gate
as the API), refused to who may not, and every mistake answered in French on the form again,
with what was typed and nothing written."""

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import (
    AccessEvent,
    Barrier,
    Pathway,
    PathwayEvent,
    PathwayStatus,
    Role,
)
from tests.factories import MembershipFactory

from .test_pages import World, client_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return World()


def _url(world, write: str, pathway=None) -> str:
    return reverse(
        "web:pathway-write",
        kwargs={"pathway_pk": (pathway or world.pathway).pk, "write": write},
    )


def _state(pathway_pk: int) -> tuple:
    pathway = Pathway.objects.get(pk=pathway_pk)
    return (
        pathway.status,
        pathway.modality,
        pathway.referent_id,
        PathwayEvent.objects.filter(pathway_id=pathway_pk).count(),
        Barrier.objects.filter(pathway_id=pathway_pk).count(),
    )


def test_the_person_page_offers_the_holder_its_pathway_writes(world):
    page = client_of(world.me).get(reverse("web:person-detail", args=[world.person.pk]))
    html = page.content.decode()
    for write in ("note", "frein", "modalite", "referent", "cloture"):
        assert _url(world, write) in html
    assert _url(world, "reactivation") not in html  # the record is not archived


def test_the_receiver_is_offered_only_what_the_table_lets_it_do(world):
    receiver = MembershipFactory(organisation=world.siae, role=Role.COUNSELLOR).user
    html = (
        client_of(receiver)
        .get(reverse("web:person-detail", args=[world.person.pk]))
        .content.decode()
    )
    assert _url(world, "note") in html  # any organisation working with the person
    for write in ("referent", "cloture"):  # the owner's alone
        assert _url(world, write) not in html


def test_a_barrier_is_recorded_with_its_status(world):
    response = client_of(world.me).post(
        _url(world, "frein"),
        {"kind": "housing", "status": "in_progress", "detail": "Hébergé chez un tiers"},
    )
    assert response.status_code == 302
    barrier = Barrier.objects.get(pathway=world.pathway, kind="housing")
    assert (barrier.status, barrier.detail) == ("in_progress", "Hébergé chez un tiers")


def test_a_health_barrier_is_not_offered_without_the_health_category(world):
    html = client_of(world.me).get(_url(world, "frein")).content.decode()
    assert 'value="housing"' in html
    assert 'value="health"' not in html and 'value="addiction"' not in html
    response = client_of(world.me).post(
        _url(world, "frein"), {"kind": "health", "status": "identified"}
    )
    assert response.status_code == 400
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not Barrier.objects.filter(pathway=world.pathway).exists()


def test_the_referent_is_chosen_among_the_organisation_s_caseworkers(world):
    colleague = MembershipFactory(
        organisation=world.home, role=Role.COUNSELLOR, user__first_name="Karim"
    ).user
    manager = MembershipFactory(organisation=world.home, role=Role.MANAGER).user
    outsider = MembershipFactory(organisation=world.elsewhere, role=Role.COUNSELLOR).user
    html = client_of(world.me).get(_url(world, "referent")).content.decode()
    assert f'value="{colleague.pk}"' in html
    assert f'value="{manager.pk}"' not in html  # a manager is never a référent
    assert f'value="{outsider.pk}"' not in html  # another organisation's staff
    response = client_of(world.me).post(_url(world, "referent"), {"referent": colleague.pk})
    assert response.status_code == 302
    assert Pathway.objects.get(pk=world.pathway.pk).referent == colleague


def test_closing_asks_for_confirmation_then_closes(world):
    world.outgoing.status = "closed"  # an open referral would block the closing (the service)
    world.outgoing.closed_at = timezone.now()
    world.outgoing.outcome = "entered"
    world.outgoing.save()
    client = client_of(world.me)
    before = _state(world.pathway.pk)
    unconfirmed = client.post(_url(world, "cloture"), {"outcome": "job"})
    assert unconfirmed.status_code == 400
    assert 'value="job" selected' in unconfirmed.content.decode()  # the choice is kept
    assert _state(world.pathway.pk) == before
    confirmed = client.post(_url(world, "cloture"), {"outcome": "job", "confirm": "on"})
    assert confirmed.status_code == 302
    pathway = Pathway.objects.get(pk=world.pathway.pk)
    assert (pathway.status, pathway.outcome) == (PathwayStatus.CLOSED, "job")
    # A closed pathway offers no more writes.
    html = client.get(reverse("web:person-detail", args=[world.person.pk])).content.decode()
    assert _url(world, "note") not in html


def test_the_service_s_refusal_comes_back_in_french_on_the_form(world):
    """An open referral blocks the closing: the service says why, the form shows it again."""
    response = client_of(world.me).post(_url(world, "cloture"), {"outcome": "job", "confirm": "on"})
    assert response.status_code == 400
    assert "Clôturez ou retirez d&#x27;abord les orientations en cours" in response.content.decode()
    assert Pathway.objects.get(pk=world.pathway.pk).status == PathwayStatus.OPEN


@pytest.mark.parametrize(
    ("write", "data", "message"),
    [
        ("note", {"kind": "note", "text": ""}, "Ce champ est obligatoire."),
        ("note", {"kind": "letter", "text": "Bonjour"}, "Sélectionnez un choix valide"),
        ("note", {"kind": "note", "text": "x" * 10001}, "au plus 10000 caractères"),
        ("modalite", {"modality": "intensive"}, "Sélectionnez un choix valide"),
        ("referent", {"referent": "999999"}, "Sélectionnez un choix valide"),
        ("referent", {"referent": "abc"}, "Sélectionnez un choix valide"),
        ("frein", {"kind": "housing", "status": "gone"}, "Sélectionnez un choix valide"),
        ("cloture", {"outcome": "", "confirm": "on"}, "Ce champ est obligatoire."),
    ],
)
def test_junk_gets_a_french_message_and_writes_nothing(world, write, data, message):
    before = _state(world.pathway.pk)
    rows = AccessEvent.objects.count()
    response = client_of(world.me).post(_url(world, write), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    if write == "note" and data["text"]:
        assert data["text"][:50] in html  # the text typed is kept
    assert _state(world.pathway.pk) == before
    assert AccessEvent.objects.count() == rows  # nothing read or written to journal


def test_an_unknown_write_is_not_found(world):
    assert client_of(world.me).get(_url(world, "suppression")).status_code == 404


def test_an_archived_record_offers_only_its_reactivation(world):
    Pathway.objects.filter(pk=world.pathway.pk).update(archived_at=timezone.now())
    client = client_of(world.me)
    html = client.get(reverse("web:person-detail", args=[world.person.pk])).content.decode()
    assert _url(world, "reactivation") in html
    assert _url(world, "note") not in html
    refused = client.post(_url(world, "note"), {"kind": "note", "text": "Bonjour"})
    assert refused.status_code == 400  # the service's 409, on the form: archived, read-only
    assert "archivé" in refused.content.decode()
    response = client.post(_url(world, "reactivation"), {"reason": "La personne est revenue."})
    assert response.status_code == 302
    assert Pathway.objects.get(pk=world.pathway.pk).archived_at is None


def test_the_page_and_the_api_leave_the_same_journal_row(world):
    """The same write through both doors: the same row but for the door (the API then answers
    with the pathway, a read of its own; tests/gate/test_door_parity.py compares whole
    requests)."""

    def last_write():
        row = AccessEvent.objects.filter(operation="write").order_by("-id").first()
        detail = dict(row.detail)
        door = detail.pop("door")
        return (
            row.object_type,
            row.object_id,
            row.categories,
            row.basis,
            row.purpose,
            detail,
            door,
        )

    client = client_of(world.me)
    client.post(_url(world, "modalite"), {"modality": "guide"})
    page = last_write()
    client.post(
        f"/api/v1/pathways/{world.pathway.pk}/modality/",
        {"modality": "renforce"},
        content_type="application/json",
    )
    api = last_write()
    assert page[:-1] == api[:-1]
    assert (page[-1], api[-1]) == ("page", "api")
