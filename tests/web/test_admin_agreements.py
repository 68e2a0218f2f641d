"""Agreements in the Django admin go through their services (issue 12): proposing, changing and
accepting on behalf of a party the user administers; refusals are form errors, never a raw save.
A superuser (the territorial administrator) may answer for any party; an organisation's
administrator for theirs only."""

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from parcours.models import Agreement, AgreementParty, Role

from ..factories import AgreementFactory, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/parcours/agreement/add/"


class _Form(HTMLParser):
    """The values a browser would post back from the admin page's form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data


def _post(client: Client, url: str, **fields):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    form = _Form()
    form.feed(page.content.decode())
    data = {name: values for name, values in form.data.items() if name != "csrfmiddlewaretoken"}
    for name, value in fields.items():
        data[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return client.post(url, data)


def _terms(**overrides):
    return {
        "name": "Convention jeunes du bassin",
        "level": "local",
        "starts_on": "2025-01-01",
        "acknowledge_within_working_days": 5,
        "appointment_set_within_days": 5,
        "first_appointment_within_days": 8,
        "no_show_grace_hours": 24,
        "shared_categories": ["identity", "pathway"],
        **overrides,
    }


@pytest.fixture
def orgs():
    return {
        "ml": OrganisationFactory(name="Mission locale de Lens", kind="mission_locale"),
        "ccas": OrganisationFactory(name="CCAS de Lens", kind="ccas"),
        "siae": OrganisationFactory(name="Les Jardins du Bassin", siae=True),
    }


@pytest.fixture
def superuser_client():
    client = Client()
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def ml_admin_client(orgs):
    """A staff administrator of the Mission locale, with the agreement permissions."""
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organisation=orgs["ml"], role=Role.ADMIN)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["add_agreement", "change_agreement", "view_agreement"]
        )
    )
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def _answers(agreement) -> dict[str, str]:
    return {
        s.organisation.name: s.status for s in agreement.signatures.select_related("organisation")
    }


def test_a_superuser_proposes_and_accepts_for_every_party(
    superuser_client, orgs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = _post(
            superuser_client,
            ADD,
            **_terms(),
            acting_for=orgs["ml"].pk,
            signatories=[orgs["ml"].pk, orgs["ccas"].pk],
            accept_for=[orgs["ccas"].pk],
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = Agreement.objects.get()
    assert _answers(agreement) == {"Mission locale de Lens": "accepted", "CCAS de Lens": "accepted"}
    assert len(callbacks) == 1  # in force: the parties' pathways are recomputed after commit
    ccas = agreement.signatures.get(organisation=orgs["ccas"])
    assert ccas.decided_by == superuser_client.user
    assert ccas.history.first().history_user == superuser_client.user
    assert agreement.history.get().history_user == superuser_client.user


def test_invalid_terms_are_form_errors_and_nothing_is_saved(superuser_client, orgs):
    response = _post(
        superuser_client,
        ADD,
        **_terms(starts_on="2025-06-01", ends_on="2025-01-01"),
        acting_for=orgs["ml"].pk,
        signatories=[orgs["ml"].pk, orgs["ccas"].pk],
    )
    assert response.status_code == 200
    assert "La fin de la convention ne peut précéder son début." in response.content.decode()
    assert not Agreement.objects.exists()

    response = _post(
        superuser_client,
        ADD,
        **_terms(acknowledge_within_working_days=0),
        acting_for=orgs["ml"].pk,
        signatories=[orgs["ml"].pk, orgs["ccas"].pk],
    )
    assert response.status_code == 200
    assert "Les délais d&#x27;une convention sont d&#x27;au moins un jour." in (
        response.content.decode()
    )
    assert not Agreement.objects.exists()

    response = _post(
        superuser_client,
        ADD,
        **_terms(shared_categories=["identity"]),
        acting_for=orgs["siae"].pk,
        signatories=[orgs["ml"].pk, orgs["ccas"].pk],
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Votre organisation doit être signataire de la convention." in page
    assert not Agreement.objects.exists() and not AgreementParty.objects.exists()


def test_a_superuser_change_goes_through_the_service(superuser_client, orgs):
    agreement = AgreementFactory(
        parties=[orgs["ml"], orgs["ccas"], orgs["siae"]], shared_categories=["identity"]
    )
    url = f"/admin/parcours/agreement/{agreement.pk}/change/"

    # Removing a party: at once, the others' answers stand.
    response = _post(
        superuser_client,
        url,
        acting_for=orgs["ml"].pk,
        signatories=[orgs["ml"].pk, orgs["ccas"].pk],
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _answers(agreement) == {"Mission locale de Lens": "accepted", "CCAS de Lens": "accepted"}
    removal = AgreementParty.history.filter(organisation=orgs["siae"]).first()
    assert (removal.history_type, removal.history_user) == ("-", superuser_client.user)

    # Another category: a new version the CCAS has to accept again.
    response = _post(
        superuser_client, url, acting_for=orgs["ml"].pk, shared_categories=["identity", "social"]
    )
    assert response.status_code == 302
    assert _answers(agreement) == {"Mission locale de Lens": "accepted", "CCAS de Lens": "pending"}


def test_an_organisation_administrator_cannot_bind_another_organisation(ml_admin_client, orgs):
    # Accepting for the CCAS is not offered (not in the choices), so nothing is saved.
    response = _post(
        ml_admin_client,
        ADD,
        **_terms(),
        signatories=[orgs["ml"].pk, orgs["ccas"].pk],
        accept_for=[orgs["ccas"].pk],
    )
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not Agreement.objects.exists()

    # Binding two other organisations is refused by the service.
    response = _post(
        ml_admin_client, ADD, **_terms(), signatories=[orgs["siae"].pk, orgs["ccas"].pk]
    )
    assert response.status_code == 200
    assert "Ajoutez votre organisation aux signataires." in response.content.decode()
    assert not Agreement.objects.exists()

    # Proposing with the CCAS: the Mission locale accepts, the CCAS has to answer for itself.
    response = _post(ml_admin_client, ADD, **_terms(), signatories=[orgs["ml"].pk, orgs["ccas"].pk])
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = Agreement.objects.get()
    assert _answers(agreement) == {"Mission locale de Lens": "accepted", "CCAS de Lens": "pending"}
    assert agreement.signatures.get(organisation=orgs["ml"]).decided_by == ml_admin_client.user


def test_an_organisation_administrator_accepts_for_their_organisation(ml_admin_client, orgs):
    agreement = AgreementFactory(parties=[orgs["ml"], orgs["ccas"]], parties__pending=[orgs["ml"]])
    url = f"/admin/parcours/agreement/{agreement.pk}/change/"
    response = _post(ml_admin_client, url, accept_for=[orgs["ml"].pk])
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _answers(agreement) == {"Mission locale de Lens": "accepted", "CCAS de Lens": "accepted"}

    foreign = AgreementFactory(parties=[orgs["ccas"], orgs["siae"]])
    assert ml_admin_client.get(f"/admin/parcours/agreement/{foreign.pk}/change/").status_code == 302


def test_agreements_are_never_deleted_in_the_admin(superuser_client, orgs):
    agreement = AgreementFactory(parties=[orgs["ml"], orgs["ccas"]])
    response = superuser_client.post(
        f"/admin/parcours/agreement/{agreement.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert Agreement.objects.filter(pk=agreement.pk).exists()
