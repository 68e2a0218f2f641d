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


# --- the escalation ladder and the reminders (issue 14) -----------------------------------------


def _ladder(agreement) -> list[tuple[int, str]]:
    return list(agreement.escalation_rungs.order_by("order").values_list("after_hours", "audience"))


def test_the_ladder_is_proposed_through_the_admin_in_the_order_of_its_delays(
    superuser_client, orgs
):
    page = superuser_client.get(ADD).content.decode()
    assert "Échelle d&#x27;escalade" in page
    assert "Échelon 1 : après (heures depuis l&#x27;alerte)" in page
    assert "Responsables des deux structures" in page  # the audiences, in French
    assert "rappel au destinataire avant chaque échéance" in page.lower()
    response = _post(
        superuser_client,
        ADD,
        **_terms(reminder_hours_before=36),
        acting_for=orgs["ml"].pk,
        signatories=[orgs["ml"].pk, orgs["ccas"].pk],
        rung_1_after_hours=96,
        rung_1_audience="managers",
        rung_2_after_hours=24,
        rung_2_audience="counsellors",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = Agreement.objects.get()
    assert _ladder(agreement) == [(24, "counsellors"), (96, "managers")]
    assert agreement.reminder_hours_before == 36
    rung = agreement.escalation_rungs.get(order=1)
    assert rung.history.first().history_user == superuser_client.user


def test_the_admin_shows_the_ladder_and_a_change_is_a_new_version(superuser_client, orgs):
    agreement = AgreementFactory(
        parties=[orgs["ml"], orgs["ccas"]], ladder=[(24, "counsellors"), (72, "managers")]
    )
    url = f"/admin/parcours/agreement/{agreement.pk}/change/"
    form = _Form()
    form.feed(superuser_client.get(url).content.decode())
    assert form.data["rung_1_after_hours"] == ["24"] and form.data["rung_1_audience"] == [
        "counsellors"
    ]
    assert form.data["rung_2_after_hours"] == ["72"] and form.data["rung_3_after_hours"] == [""]

    # Saved again untouched: the ladder and the answers stand.
    assert _post(superuser_client, url, acting_for=orgs["ml"].pk).status_code == 302
    assert _answers(agreement) == {"Mission locale de Lens": "accepted", "CCAS de Lens": "accepted"}

    # A rung removed: a new version the CCAS accepts again.
    response = _post(
        superuser_client,
        url,
        acting_for=orgs["ml"].pk,
        rung_1_after_hours="",
        rung_1_audience="",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _ladder(agreement) == [(72, "managers")]
    assert _answers(agreement) == {"Mission locale de Lens": "accepted", "CCAS de Lens": "pending"}


@pytest.mark.parametrize(
    ("slot", "message"),
    [
        ({"rung_1_after_hours": 24, "rung_1_audience": ""}, "Un échelon a un délai et des"),
        ({"rung_1_after_hours": "", "rung_1_audience": "managers"}, "Un échelon a un délai et des"),
        ({"rung_1_after_hours": 0, "rung_1_audience": "managers"}, "supérieure ou égale à"),
        ({"rung_1_after_hours": "un jour", "rung_1_audience": "managers"}, "Saisissez un nombre"),
        ({"rung_1_after_hours": 24, "rung_1_audience": "coordinator"}, "Sélectionnez un choix"),
        (
            {
                "rung_1_after_hours": 24,
                "rung_1_audience": "managers",
                "rung_2_after_hours": 24,
                "rung_2_audience": "counsellors",
            },
            "Deux échelons ne peuvent avoir le même délai.",
        ),
    ],
)
def test_a_malformed_rung_is_a_french_form_error_and_nothing_is_saved(
    superuser_client, orgs, slot, message
):
    response = _post(
        superuser_client,
        ADD,
        **_terms(),
        acting_for=orgs["ml"].pk,
        signatories=[orgs["ml"].pk, orgs["ccas"].pk],
        **slot,
    )
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'").replace("\xa0", " ")
    assert not Agreement.objects.exists()


def test_an_administrator_changes_the_ladder_of_their_organisations_agreements_only(
    ml_admin_client, orgs
):
    theirs = AgreementFactory(parties=[orgs["ml"], orgs["ccas"]])
    response = _post(
        ml_admin_client,
        f"/admin/parcours/agreement/{theirs.pk}/change/",
        acting_for=orgs["ml"].pk,
        rung_1_after_hours=48,
        rung_1_audience="managers",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _ladder(theirs) == [(48, "managers")]
    others = AgreementFactory(parties=[orgs["ccas"], orgs["siae"]], ladder=[(72, "managers")])
    page = ml_admin_client.get(f"/admin/parcours/agreement/{others.pk}/change/")
    assert page.status_code == 302  # out of scope: the admin's "does not exist" redirect
    assert _ladder(others) == [(72, "managers")]
