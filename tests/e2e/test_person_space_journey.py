"""The person's own space in a real browser (issue 19's acceptance): the person signs in with
the code the real relay e-mailed them, sees the CCAS's access to their record (« CCAS de Lens a
consulté votre dossier le … pour … », no staff name), withdraws the consent the CCAS's access
rested on, and the CCAS's next page load reflects it: the record is not found any more. Axe on
every page of the space, the errors included."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import AccessEvent, Consent
from tests.oidc_provider import Citizen, LocalOidcProvider
from tests.person_space.world import BIRTH, EMAIL, build_world
from tests.processes import wait_until

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.worker
def test_the_person_sees_the_ccas_access_and_withdraws_the_consent_it_rested_on(
    live_server, new_page, celery_worker_process, mail_sink
):
    world = build_world()
    base = live_server.url
    record = base + reverse("web:person-detail", args=[world.person.pk])

    # The CCAS's social worker reads the record (care team, on the person's consent).
    ccas = new_page()
    log_in(ccas, base, world.ccas.user)
    ccas.goto(record)
    ccas.get_by_role("heading", name=re.compile("Inès")).first.wait_for()
    read = AccessEvent.objects.filter(
        organisation=world.ccas.organisation, operation="read", person_id=world.person.pk
    ).latest("occurred_at")

    # The person asks for a code: first with a mistyped address (the French error, what was
    # typed kept), then rightly.
    person = new_page()
    person.goto(base + reverse("web:person-space-sign-in"))
    check_accessibility(person, "espace personnel : connexion")
    person.get_by_label("Votre adresse e-mail").fill("ines.robert@")
    person.get_by_label("Votre date de naissance").fill(BIRTH.isoformat())
    person.get_by_role("button", name="Recevoir un code").click()
    person.get_by_text("Indiquez une adresse e-mail valide").first.wait_for()
    check_accessibility(person, "espace personnel : connexion (erreurs)")
    assert person.get_by_label("Votre adresse e-mail").input_value() == "ines.robert@"
    person.get_by_label("Votre adresse e-mail").fill(EMAIL)
    shot(person, "espace-personne-connexion")
    person.get_by_role("button", name="Recevoir un code").click()
    person.get_by_role("heading", name="Taper le code reçu par e-mail").wait_for()
    check_accessibility(person, "espace personnel : code")

    # A wrong code first, then the one the relay e-mailed.
    wait_until(lambda: len(mail_sink.to(EMAIL)) >= 1, what="the person's code")
    code = re.search(r"Votre code : (\d{6})", mail_sink.to(EMAIL)[0].text).group(1)
    person.get_by_label("Le code reçu par e-mail").fill("000000" if code != "000000" else "1" * 6)
    person.get_by_role("button", name="Ouvrir mon espace").click()
    person.get_by_text("Il vous reste 4 essai(s)").wait_for()
    check_accessibility(person, "espace personnel : code (erreur)")
    person.get_by_label("Le code reçu par e-mail").fill(code)
    person.get_by_role("button", name="Ouvrir mon espace").click()
    person.wait_for_url(base + reverse("web:person-space"))

    # The CCAS's access, when and why — never who.
    when = timezone.localtime(read.occurred_at).strftime("%d/%m/%Y à %H:%M")
    line = person.get_by_text(f"a consulté votre dossier le {when} pour : {read.purpose}")
    line.wait_for()
    assert "CCAS de Lens" in line.inner_text()
    body = person.inner_text("main")
    assert "Sandrine" not in body and "Vasseur" not in body
    check_accessibility(person, "espace personnel")
    shot(person, "espace-personne")

    # The consent withdrawn, after its confirmation page.
    person.get_by_role("link", name="Retirer mon consentement pour CCAS de Lens").click()
    person.get_by_role("heading", name="Retirer mon consentement").wait_for()
    check_accessibility(person, "espace personnel : retrait (confirmation)")
    shot(person, "espace-personne-retrait")
    person.get_by_role("button", name="Oui, retirer mon consentement").click()
    person.get_by_role("heading", name="Votre consentement est retiré").wait_for()
    check_accessibility(person, "espace personnel : retrait fait")
    consent = Consent.objects.get(pk=world.consent.pk)
    assert consent.revoked_by_person and consent.revoked_at is not None

    # The CCAS's next page load: its access rested on that consent alone — not found.
    response = ccas.goto(record)
    assert response is not None and response.status == 404
    ccas.get_by_role("heading", name="Page introuvable").wait_for()

    # Back in the space: the consent withdrawn, no button any more.
    person.get_by_role("link", name="Revenir à mon espace").click()
    person.get_by_text("Retiré le").wait_for()
    withdraw_ccas = person.get_by_role("link", name="Retirer mon consentement pour CCAS de Lens")
    assert withdraw_ccas.count() == 0
    person.get_by_role("button", name="Fermer mon espace").click()
    person.get_by_role("heading", name="Votre espace est fermé").wait_for()
    check_accessibility(person, "espace personnel : fermé")


def test_the_person_signs_in_with_franceconnect(live_server, new_page, settings):
    """FranceConnect's button on the space's sign-in page, the local provider's login form
    (FranceConnect's flavour): someone with no record meets « Nous ne trouvons pas votre
    dossier »; the person whose record matches lands in the space; « Fermer mon espace » ends
    the FranceConnect session too."""
    world = build_world()
    base = live_server.url
    ines = Citizen(
        login="ines", given_name="INES", family_name="ROBERT", birthdate=BIRTH.isoformat()
    )
    nobody = Citizen(
        login="personne", given_name="Jean", family_name="Inconnu", birthdate="1980-01-01"
    )
    provider = LocalOidcProvider(
        base_url=base, agents=[ines, nobody], flavour="franceconnect"
    ).start()
    try:
        for name, value in provider.settings().items():
            setattr(settings, name, value)
        page = new_page()

        def through_franceconnect(citizen: Citizen) -> None:
            page.goto(base + reverse("web:person-space-sign-in"))
            page.get_by_role("button", name="S’identifier avec FranceConnect").click()
            page.get_by_role("heading", name="Connexion (FranceConnect local)").wait_for()
            page.get_by_label("Identifiant").fill(citizen.login)
            page.get_by_label("Mot de passe").fill(citizen.password)
            page.get_by_role("button", name="Se connecter").click()

        page.goto(base + reverse("web:person-space-sign-in"))
        page.get_by_role("link", name="Qu’est-ce que FranceConnect ?").wait_for()
        check_accessibility(page, "espace personnel : connexion avec FranceConnect")

        through_franceconnect(nobody)
        page.get_by_role("heading", name="Nous ne trouvons pas votre dossier").wait_for()
        check_accessibility(page, "espace personnel : dossier introuvable")

        # The provider's session is still the first person's: a new browser for Inès.
        page = new_page()
        through_franceconnect(ines)
        page.wait_for_url(base + reverse("web:person-space"))
        page.get_by_text(f"Bonjour {world.person.first_name} {world.person.last_name}").wait_for()
        page.get_by_role("button", name="Fermer mon espace").click()
        page.get_by_role("heading", name="Votre espace est fermé").wait_for()
        assert page.url.startswith(base + "/mon-parcours/deconnexion/franceconnect/retour/")
        check_accessibility(page, "espace personnel : fermé (FranceConnect)")
    finally:
        provider.stop()
