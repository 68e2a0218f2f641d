"""The whole journey in a real browser (Debian chromium through Playwright) against a live
server on the real PostgreSQL, the real Celery worker and a real SMTP server:

1. a France Travail counsellor creates a person, records consent and refers her to an SIAE;
2. the SIAE counsellor accepts and sets an appointment; the France Travail counsellor hears
   back (issue 14): each answer on her home and in one e-mail each, naming no one;
3. time passes, the appointment is missed: the no-show e-mail reaches the SMTP server and the
   alert shows on the counsellor's home;
4. a user of an unrelated organisation finds nothing and gets a 404 on the direct URL;
5. revoking a consent hides its categories on the next page load.

Every page visited is checked with axe-core (labels, landmarks, headings, contrast…), and the
main pages are saved under docs/screenshots/ for the README.
"""

import datetime as dt

import pytest
from django.utils import timezone

from notifications.models import AlertKind
from notifications.tasks import alerts_scan
from parcours.models import Person, Referral, ReferralStatus, Role
from tests.factories import MembershipFactory, OrganisationFactory, ServiceFactory, UserFactory
from tests.processes import wait_until

from .browser import check_accessibility, follow_link, log_in, shot, tick, tick_for_all

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_referral_journey_in_a_real_browser(
    live_server, new_page, celery_worker_process, mail_sink
):
    base = live_server.url
    france_travail = OrganisationFactory(name="France Travail Lens")
    siae = OrganisationFactory(siae=True, name="Les Jardins du Bassin")
    ServiceFactory(organisation=siae, name="Chantier maraîchage")
    elsewhere = OrganisationFactory(mission_locale=True, name="Mission locale d'Arras")
    counsellor = UserFactory(first_name="Camille", last_name="Durand")
    siae_user = UserFactory(first_name="Samir", last_name="Benali")
    stranger = UserFactory()
    MembershipFactory(user=counsellor, organisation=france_travail, role=Role.COUNSELLOR)
    MembershipFactory(user=siae_user, organisation=siae, role=Role.COUNSELLOR)
    MembershipFactory(user=stranger, organisation=elsewhere, role=Role.COUNSELLOR)

    # 1. The France Travail counsellor creates the person, records consent, refers.
    page = new_page()
    log_in(page, base, counsellor)
    page.get_by_role("link", name="Créer une personne").first.click()
    page.get_by_label("Prénom").fill("Léa")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Date de naissance").fill("1994-03-12")
    page.get_by_label("Téléphone").fill("0612345678")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("La personne a été créée").wait_for()
    person = Person.objects.get(last_name="Martin")
    check_accessibility(page, "fiche personne")

    page.get_by_text("Enregistrer un accord de la personne").click()
    page.get_by_label("Nom de l'organisme ou d'un de ses services").fill("jardins")
    page.get_by_label("Les Jardins du Bassin").wait_for()  # htmx: the directory's picker
    tick(page, "Les Jardins du Bassin")
    tick_for_all(page, "Identité")
    tick_for_all(page, "Parcours, orientations et rendez-vous")
    page.get_by_role("button", name="Enregistrer l'accord").click()
    page.get_by_text("L'accord de la personne est enregistré").wait_for()
    # A second consent for the contact details (revoked in step 5).
    page.get_by_text("Enregistrer un accord de la personne").click()
    # The referral-less pathway has no partner yet: search again.
    page.get_by_label("Nom de l'organisme ou d'un de ses services").fill("jardins")
    page.get_by_label("Les Jardins du Bassin").wait_for()
    tick(page, "Les Jardins du Bassin")
    tick_for_all(page, "Coordonnées")
    page.get_by_role("button", name="Enregistrer l'accord").click()
    page.get_by_text("L'accord de la personne est enregistré").wait_for()
    shot(page, "fiche-personne")

    follow_link(page, "Orienter la personne")
    check_accessibility(page, "formulaire d'orientation")
    page.get_by_label("Nom de l'organisme ou d'un de ses services").fill("jardins")
    page.get_by_role("radio", name="Les Jardins du Bassin").check(force=True)
    page.get_by_text("Délais convenus avec Les Jardins du Bassin").wait_for()  # htmx
    page.get_by_label("Type d'orientation").select_option("substitution")
    tick(page, "Coordonnées")  # shared with the receiver, as the person agreed
    page.get_by_label("Motif de l'orientation").fill("Reprise d'activité en chantier d'insertion")
    shot(page, "formulaire-orientation")
    page.get_by_role("button", name="Envoyer l'orientation").click()
    page.get_by_text("envoyée.").wait_for()
    referral = Referral.objects.get(pathway__person=person)
    assert referral.status == ReferralStatus.SENT

    # 2. The SIAE accepts and sets an appointment.
    siae_page = new_page()
    log_in(siae_page, base, siae_user)
    siae_page.get_by_role("link", name="Orientations reçues").click()
    siae_page.get_by_role("cell", name="Léa Martin").wait_for()
    check_accessibility(siae_page, "orientations reçues")
    shot(siae_page, "orientations-recues")
    siae_page.get_by_role("link", name=referral.reference).click()
    siae_page.get_by_role("button", name="Accepter").click()
    siae_page.get_by_text("« accepter » fait").wait_for()
    starts = timezone.localtime() + dt.timedelta(days=2)
    siae_page.get_by_label("Date et heure du rendez-vous").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    siae_page.get_by_role("button", name="Fixer le rendez-vous").click()
    siae_page.get_by_text("« fixer un rendez-vous » fait").wait_for()
    check_accessibility(siae_page, "orientation")
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.APPOINTMENT_SET

    # 2b. The sender hears back: two answers, each e-mailed once, on her home until seen.
    wait_until(lambda: len(mail_sink.to(counsellor.email)) == 2, what="the answers' e-mails")
    answers = mail_sink.to(counsellor.email)
    assert sorted(m.subject for m in answers) == [
        f"[parcours] {referral.reference} : orientation acceptée — Les Jardins du Bassin",
        f"[parcours] {referral.reference} : rendez-vous fixé — Les Jardins du Bassin",
    ]
    assert not [m for m in answers if "Léa" in m.text or "Martin" in m.text]
    page.goto(f"{base}/")
    page.get_by_text("Réponses à vos orientations (2)").wait_for()
    page.get_by_role("cell", name="Léa Martin").first.wait_for()
    check_accessibility(page, "accueil, réponses à vos orientations")
    page.get_by_role("button", name="Marquer comme vu : orientation acceptée").click()
    page.get_by_text("Réponse marquée comme vue").wait_for()
    page.get_by_text("Réponses à vos orientations (1)").wait_for()

    # 3. Time passes (injected clock): the appointment plus its grace is behind us, nobody
    #    recorded the outcome. The worker's scan raises the no-show and its e-mails go out.
    after_grace = referral.appointments.get().outcome_due_at + dt.timedelta(minutes=5)
    report = alerts_scan.delay(now=after_grace.isoformat()).get(timeout=60)
    assert report["raised"][AlertKind.NO_SHOW] == 1
    wait_until(lambda: len(mail_sink.to(counsellor.email)) == 3, what="the no-show e-mail")
    (mail,) = [m for m in mail_sink.to(counsellor.email) if m not in answers]
    assert "personne absente au rendez-vous" in mail.subject
    assert "Léa M." in mail.text and "Martin" not in mail.text
    page.goto(f"{base}/")
    page.get_by_text("Personne absente au rendez-vous").wait_for()
    check_accessibility(page, "accueil")
    shot(page, "accueil")

    # 4. An unrelated organisation finds nothing, and the direct URL is a 404.
    stranger_page = new_page()
    log_in(stranger_page, base, stranger)
    stranger_page.get_by_role("link", name="Personnes").click()
    stranger_page.get_by_label("Nom (début)").fill("Martin")
    stranger_page.get_by_role("button", name="Rechercher").click()
    stranger_page.get_by_text("Aucune personne trouvée").wait_for()
    check_accessibility(stranger_page, "recherche")
    response = stranger_page.goto(f"{base}/personnes/{person.pk}/")
    assert response.status == 404
    assert "Page introuvable" in stranger_page.content()

    # 5. Revoking the contact consent hides the contact details on the SIAE's next load.
    siae_page.goto(f"{base}/personnes/{person.pk}/")
    assert "0612345678" in siae_page.content()
    page.goto(f"{base}/personnes/{person.pk}/")
    contact_consent = person.consents.get(categories=["contact"])
    page.locator(f"form[action$='/accords/{contact_consent.pk}/retrait/'] button").click()
    page.get_by_text("L'accord est retiré").wait_for()
    siae_page.reload()
    assert "0612345678" not in siae_page.content()
    assert "Coordonnées</strong> : non partagé avec votre organisation" in siae_page.content()
