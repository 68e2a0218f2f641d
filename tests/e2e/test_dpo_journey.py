"""The DPO's journey in a real browser: a person asks who saw her data and for her data; the DPO
of the organisation that holds her record finds her by exact identity, reads the access report,
downloads it, generates the subject-access pack and records the answer to the request. Every
page is checked with axe-core; the main ones are saved for the README."""

import zipfile

import pytest
from django.utils import timezone

from parcours.models import AccessEvent, RightsRequest, Role
from tests.factories import MembershipFactory, PathwayFactory, PersonFactory, UserFactory

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dpo_answers_a_subject_access_request(live_server, new_page, make_actor, client_for):
    base = live_server.url
    counsellor = make_actor(name="France Travail Lens")
    person = PersonFactory(first_name="Léa", last_name="Martin")
    PathwayFactory(person=person, owner_organisation=counsellor.organisation)
    # The counsellor opened the record twice: what the DPO will read about.
    for _ in range(2):
        assert client_for(counsellor).get(f"/api/v1/persons/{person.pk}/").status_code == 200
    dpo = UserFactory(first_name="Marc", last_name="Lambert")
    MembershipFactory(user=dpo, organisation=counsellor.organisation, role=Role.DPO)

    page = new_page()
    log_in(page, base, dpo, landing="/protection-des-donnees/")
    check_accessibility(page, "accueil DPO")
    # The labels read "Nom Facultatif", "Prénom Facultatif" (identity or NIR): by id.
    page.locator("#id_last_name").fill("MARTIN")
    page.locator("#id_first_name").fill("lea")
    page.locator("#id_birth_date").fill(person.birth_date.isoformat())
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("heading", name=f"Accès aux données de la personne n°{person.pk}").wait_for()
    table = page.locator("table").first
    assert table.get_by_text(counsellor.user.get_full_name()).count() == 2
    check_accessibility(page, "rapport des accès")
    shot(page, "dpo-rapport-acces")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Télécharger (CSV)").click()
    assert csv_download.value.suggested_filename.endswith(".csv")

    with page.expect_download() as pack_download:
        page.get_by_role("button", name="Générer le dossier de droit d'accès").click()
    with zipfile.ZipFile(pack_download.value.path()) as archive:
        assert len(archive.namelist()) == 3
    assert AccessEvent.objects.filter(operation="export", person_id=person.pk).count() == 1

    page.get_by_role("link", name="Enregistrer une demande de droits").click()
    page.get_by_label("Droit exercé").select_option("access")
    page.get_by_label("Reçue le").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Demande enregistrée : réponse due le").wait_for()
    check_accessibility(page, "demande de droits")
    page.get_by_text("Satisfaite", exact=True).click()
    page.get_by_label("Réponse apportée à la personne").fill("Dossier remis en main propre.")
    page.get_by_role("button", name="Enregistrer la réponse").click()
    page.get_by_text("Réponse enregistrée.").wait_for()
    assert RightsRequest.objects.get(person=person).status == "granted"
