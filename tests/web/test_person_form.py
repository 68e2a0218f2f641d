"""The person's record in the pages (issue 13): contact, address and the situation's flags on
the creation and rectification forms, grouped by data category; the edit page offers only the
fields of the categories the organisation sees (the service's list) and a forged field of another
is the service's refusal; French errors with the values kept; the values on the person page."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours import access
from parcours.actor import actor_for
from parcours.models import AccessEvent, Person, Role
from tests.factories import ConsentFactory, MembershipFactory
from tests.rows import snapshot

from .test_page_matrix import World

pytestmark = pytest.mark.django_db

FLAGS = ("receives_rsa", "receives_ass", "rights_ending", "lives_in_qpv")
SENSITIVE = ("rqth", "court_supervision")


@pytest.fixture
def world():
    return World()


def _client(client, user):
    client.force_login(user)
    return client


def _inputs(page: str) -> set[str]:
    return set(re.findall(r'<input[^>]* name="([a-z_]+)"', page))


def test_the_creation_form_offers_every_field_in_one_fieldset_per_category(client, world):
    page = _client(client, world.me).get(reverse("web:person-create")).content.decode()
    assert {*FLAGS, *SENSITIVE, "address", "postal_code", "phone", "email"} <= _inputs(page)
    for category, legend in (
        ("identity", "Identité"),
        ("contact", "Coordonnées"),
        ("health", "Santé et handicap"),
        ("justice", "Justice"),
    ):
        assert f'id="fiche-{category}-legende">{legend}' in page
    # The acronyms spelled out.
    assert "revenu de solidarité active (rSa)" in page
    assert "allocation de solidarité spécifique (ASS)" in page
    assert "quartier prioritaire de la politique de la ville (QPV)" in page
    assert "Reconnaissance de la qualité de travailleur handicapé (RQTH)" in page


def test_a_person_created_with_address_and_flags(client, world):
    response = _client(client, world.me).post(
        reverse("web:person-create"),
        {
            "first_name": "Inès",
            "last_name": "Durand",
            "birth_date": "1991-02-03",
            "address": "3 rue Basly",
            "postal_code": "62300",
            "city": "Lens",
            "phone": "06 12 34 56 78",
            "receives_rsa": "on",
            "lives_in_qpv": "on",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(last_name="Durand")
    assert (person.address, person.postal_code, person.phone) == (
        "3 rue Basly",
        "62300",
        "06 12 34 56 78",
    )
    assert person.receives_rsa and person.lives_in_qpv
    assert not (person.receives_ass or person.rqth or person.court_supervision)
    write = AccessEvent.objects.filter(operation="write", object_id=person.pk).get()
    assert write.categories == ["contact", "identity", "pathway", "social"]
    # The person page shows them (the categories France Travail sees).
    page = client.get(response.url).content.decode()
    assert "3 rue Basly" in page and "62300" in page
    assert "Bénéficiaire du rSa" in page and "Réside en QPV" in page


def test_the_edit_page_offers_only_the_categories_the_organisation_sees(client, world):
    url = reverse("web:person-edit", args=[world.person.pk])
    page = _client(client, world.me).get(url).content.decode()
    inputs = _inputs(page)
    assert {*FLAGS, "address", "postal_code"} <= inputs
    assert not inputs & set(SENSITIVE)
    assert "Santé et handicap" not in page and "Justice" not in page
    # Léa consents to France Travail seeing her health data: the RQTH is offered, not justice.
    ConsentFactory(person=world.person, organisations=[world.home], categories=["health"])
    inputs = _inputs(client.get(url).content.decode())
    assert "rqth" in inputs and "court_supervision" not in inputs
    response = client.post(url, {**_form(world), "rqth": "on"})
    assert response.status_code == 302
    assert Person.objects.get(pk=world.person.pk).rqth is True
    write = AccessEvent.objects.filter(operation="write", object_id=world.person.pk).latest("id")
    assert write.categories == ["health"]


def test_a_forged_field_of_a_hidden_category_is_refused_and_nothing_is_written(client, world):
    before = snapshot()
    response = _client(client, world.me).post(
        reverse("web:person-edit", args=[world.person.pk]),
        {**_form(world), "city": "Arras", "court_supervision": "on"},
    )
    assert response.status_code == 403
    assert "court_supervision" in response.content.decode()  # the service's message names it
    assert snapshot() == before
    person = Person.objects.get(pk=world.person.pk)
    assert person.court_supervision is False and person.city != "Arras"


def _form(world) -> dict:
    person = world.person
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": person.birth_date.isoformat(),
        "city": person.city,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "6230", "Code postal : 5 chiffres."),
        ("postal_code", "62 300", "Code postal : 5 chiffres."),
        ("email", "lea.martin@", "Saisissez une adresse e-mail valide."),
        ("phone", "06 12 34", "Numéro de téléphone invalide"),
        ("phone", "zéro six", "Numéro de téléphone invalide"),
    ],
)
def test_contact_errors_are_french_field_errors_and_keep_what_was_typed(
    client, world, field, value, message
):
    before = snapshot()
    typed = {**_form(world), "address": "12 rue de la Gare", "lives_in_qpv": "on", field: value}
    response = _client(client, world.me).post(
        reverse("web:person-edit", args=[world.person.pk]), typed
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert f'id="erreur-id_{field}"' in page  # under the field
    assert "12 rue de la Gare" in page and value.replace("'", "&#x27;") in page
    assert 'id="id_lives_in_qpv" name="lives_in_qpv" checked' in page
    assert snapshot() == before


def test_the_rsa_flag_opens_the_legal_basis_at_once(client, world):
    """A legal basis with a condition (rSa) follows the record: ticking the flag recomputes the
    person's access in the same transaction."""
    actor = actor_for(world.me)
    bases = lambda: access.grants_for(actor, [world.pathway.pk])[world.pathway.pk].bases  # noqa: E731
    assert "legal:rsa" not in bases()["contact"]
    response = _client(client, world.me).post(
        reverse("web:person-edit", args=[world.person.pk]), {**_form(world), "receives_rsa": "on"}
    )
    assert response.status_code == 302
    assert "legal:rsa" in bases()["contact"]


def test_a_partner_without_the_lead_relation_gets_no_edit_link(client, world):
    page = (
        _client(client, world.receiver)
        .get(reverse("web:person-detail", args=[world.person.pk]))
        .content.decode()
    )
    assert reverse("web:person-edit", args=[world.person.pk]) not in page


# --- The end of unemployment rights (issue 18: the benefit-transition warning) ---------------


def test_a_dated_end_of_rights_is_recorded_and_the_person_page_warns(client, world, settings):
    settings.PARCOURS_RIGHTS_END_WARNING_DAYS = 60
    end = timezone.localdate() + dt.timedelta(days=30)
    url = reverse("web:person-edit", args=[world.person.pk])
    assert "rights_end_date" in _inputs(_client(client, world.me).get(url).content.decode())
    response = client.post(
        url, {**_form(world), "rights_ending": "on", "rights_end_date": end.isoformat()}
    )
    assert response.status_code == 302
    person = Person.objects.get(pk=world.person.pk)
    assert (person.rights_ending, person.rights_end_date) == (True, end)
    page = client.get(reverse("web:person-detail", args=[world.person.pk])).content.decode()
    assert 'id="fin-de-droits"' in page
    assert f"Fin des droits à l'allocation chômage le {end:%d/%m/%Y}" in page
    # Further than the warning's window, or already on the rSa: the page says nothing yet.
    Person.objects.filter(pk=person.pk).update(rights_end_date=end + dt.timedelta(days=45))
    assert 'id="fin-de-droits"' not in client.get(response.url).content.decode()
    Person.objects.filter(pk=person.pk).update(rights_end_date=end, receives_rsa=True)
    assert 'id="fin-de-droits"' not in client.get(response.url).content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"rights_end_date": "2027-01-15"}, "Une date de fin de droits va avec la case"),
        ({"rights_ending": "on", "rights_end_date": "2031-01-15"}, "doit être comprise entre"),
        ({"rights_ending": "on", "rights_end_date": "2020-01-15"}, "doit être comprise entre"),
        ({"rights_ending": "on", "rights_end_date": "15/13/2027"}, "Saisissez une date valide."),
    ],
)
def test_a_wrong_end_of_rights_is_a_french_error_and_keeps_what_was_typed(
    client, world, typed, message
):
    before = snapshot()
    response = _client(client, world.me).post(
        reverse("web:person-edit", args=[world.person.pk]),
        {**_form(world), "address": "12 rue de la Gare", **typed},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert 'id="erreur-id_rights_end_date"' in page
    assert "12 rue de la Gare" in page and typed["rights_end_date"] in page
    assert snapshot() == before


def test_the_api_records_the_end_of_rights_with_the_same_rules(client, world):
    url = f"/api/v1/persons/{world.person.pk}/"
    _client(client, world.me)
    end = (timezone.localdate() + dt.timedelta(days=20)).isoformat()
    refused = client.patch(url, {"rights_end_date": end}, content_type="application/json")
    assert refused.status_code == 400
    assert "Une date de fin de droits va avec la case" in str(refused.json()["rights_end_date"])
    accepted = client.patch(
        url, {"rights_ending": True, "rights_end_date": end}, content_type="application/json"
    )
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["rights_end_date"] == end
    # An organisation that does not follow Léa: 404, as for any record out of scope.
    stranger = MembershipFactory(role=Role.COUNSELLOR).user
    _client(client, stranger)
    answer = client.patch(url, {"rights_end_date": end}, content_type="application/json")
    assert answer.status_code == 404
