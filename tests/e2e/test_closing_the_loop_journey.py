"""Closing the loop for the sender (issue 14), the whole way in Debian's chromium against a live
server, the real PostgreSQL, a real Celery worker and a real SMTP server:

1. France Travail's counsellor sends Léa to the Mission locale (the referral form) and writes to
   it; the Mission locale accepts and answers — France Travail sees the acceptance on its home,
   in « Orientations envoyées » and in its e-mail;
2. the Mission locale proposes a réorientation to an SIAE instead; France Travail is told, and
   confirms it in the DSFR modal;
3. the SIAE sets an appointment; Léa does not come; the SIAE records the absence (confirmed),
   writes to France Travail and re-invites her; she misses the second appointment too;
4. the scan (the worker, on an injected clock) alerts each absence — the second one included —,
   and up the agreement's ladder: the counsellors' rung to France Travail, the managers' rung to
   the SIAE's manager, who both see it on « Alertes ».

axe-core checks every page and state on the way (0 serious, critical or moderate violation)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Alert, AlertKind
from notifications.tasks import alerts_scan
from parcours.models import Appointment, Referral, ReferralStatus, Role
from tests.factories import (
    AgreementFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    UserFactory,
)
from tests.processes import wait_until

from .browser import check_accessibility, log_in, modal_opened, shot

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SEARCH_LABEL = "Nom de l'organisme ou d'un de ses services"


def _subjects(sink, address: str) -> list[str]:
    return [m.subject for m in sink.to(address)]


def _told(sink, address: str, words: str) -> None:
    wait_until(
        lambda: any(words in subject for subject in _subjects(sink, address)),
        what=f"an e-mail to {address}: {words}",
    )


def _in_the_past(referral: Referral) -> None:
    """Time passes: the appointment just set is now two hours behind us (the page only lets an
    absence be recorded after the appointment's time)."""
    appointment = Appointment.objects.filter(referral=referral).latest("id")
    starts = timezone.now() - dt.timedelta(hours=2)
    Appointment.objects.filter(pk=appointment.pk).update(starts_at=starts)


def _write(page, text: str, where: str) -> None:
    page.get_by_label("Votre message").fill(text)
    page.get_by_role("button", name="Envoyer le message").click()
    page.get_by_text(text).wait_for()
    check_accessibility(page, where)


def _book(page, at: dt.datetime, done: str = "« fixer un rendez-vous » fait") -> None:
    page.get_by_label("Date et heure du rendez-vous").fill(
        timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_role("button", name="Fixer le rendez-vous").click()
    page.get_by_text(done).wait_for()


def _record_absence(page, where: str) -> None:
    page.get_by_role("button", name="Constater l'absence").click()
    modal = page.get_by_role("dialog", name="Constater l'absence ?")
    modal_opened(page, "modale-record_no_show")
    check_accessibility(page, where)
    modal.get_by_role("button", name="Confirmer l'absence").click()
    page.get_by_text("« constater l'absence » fait").wait_for()


def test_a_sent_person_is_followed_to_the_end(
    live_server, new_page, celery_worker_process, mail_sink
):
    base = live_server.url
    france_travail = OrganisationFactory(name="France Travail Lens")
    mission_locale = OrganisationFactory(mission_locale=True, name="Mission locale de Lens")
    siae = OrganisationFactory(siae=True, name="Chantier Les Jardins")
    counsellor = UserFactory(first_name="Camille", last_name="Durand")
    ml_counsellor = UserFactory(first_name="Inès", last_name="Haddad")
    siae_counsellor = UserFactory(first_name="Samir", last_name="Benali")
    siae_manager = UserFactory(first_name="Nadia", last_name="Lefebvre")
    MembershipFactory(user=counsellor, organisation=france_travail, role=Role.COUNSELLOR)
    MembershipFactory(user=ml_counsellor, organisation=mission_locale, role=Role.COUNSELLOR)
    MembershipFactory(user=siae_counsellor, organisation=siae, role=Role.COUNSELLOR)
    MembershipFactory(user=siae_manager, organisation=siae, role=Role.MANAGER)
    # France Travail and the SIAE agreed on a ladder: the counsellors after a day, the managers
    # after two.
    AgreementFactory(parties=[france_travail, siae], ladder=[(24, "counsellors"), (48, "managers")])
    person = PersonFactory(first_name="Léa", last_name="Martin")
    PathwayFactory(person=person, owner_organisation=france_travail, referent=counsellor)
    # Léa agreed to the Mission locale and the SIAE receiving what a referral carries.
    ConsentFactory(person=person, organisations=[mission_locale, siae])

    # 1. France Travail sends Léa to the Mission locale and writes to it.
    ft = new_page()
    log_in(ft, base, counsellor)
    ft.goto(f"{base}/personnes/{person.pk}/")
    ft.get_by_role("link", name="Orienter la personne").click()
    ft.get_by_label(SEARCH_LABEL).fill("mission")
    ft.get_by_role("radio", name="Mission locale de Lens").check(force=True)
    ft.get_by_text("Délais convenus avec Mission locale de Lens").wait_for()  # htmx
    ft.get_by_label("Type d'orientation").select_option("substitution")
    ft.get_by_label("Motif de l'orientation").fill("Accompagnement vers l'emploi d'une jeune")
    check_accessibility(ft, "formulaire d'orientation")
    ft.get_by_role("button", name="Envoyer l'orientation").click()
    ft.get_by_text("envoyée.").wait_for()
    first = Referral.objects.get(pathway__person=person)
    first_page = base + reverse("web:referral-detail", args=[first.pk])
    ft.goto(first_page)
    _write(ft, "Léa préfère les rendez-vous l'après-midi.", "orientation : message envoyé")

    ml = new_page()
    log_in(ml, base, ml_counsellor)
    ml.goto(base + reverse("web:inbox"))
    unread = ml.get_by_role(
        "link", name=f"1 non lu : lire les messages de l'orientation {first.reference}"
    )
    unread.wait_for()
    check_accessibility(ml, "orientations reçues (Mission locale)")
    unread.click()
    ml.get_by_role("button", name="Accepter").click()
    ml.get_by_text("« accepter » fait").wait_for()
    _write(ml, "Bien noté, nous la recevrons l'après-midi.", "Mission locale : réponse")

    # France Travail sees the acceptance on its home, in its sent referrals and by e-mail.
    _told(mail_sink, counsellor.email, f"{first.reference} : orientation acceptée")
    _told(mail_sink, counsellor.email, f"{first.reference} : nouveau message de Mission locale")
    ft.goto(f"{base}/")
    ft.get_by_text("Réponses à vos orientations (1)").wait_for()
    ft.get_by_role("cell", name="Léa Martin").first.wait_for()
    check_accessibility(ft, "accueil : réponse de la Mission locale")
    ft.goto(base + reverse("web:sent-referrals"))
    row = ft.get_by_role("row").filter(has_text=first.reference)
    row.get_by_text("Acceptée").first.wait_for()
    check_accessibility(ft, "orientations envoyées")

    # 2. The Mission locale proposes the SIAE instead; France Travail is told and confirms.
    ml.goto(first_page)
    ml.get_by_role("link", name="Proposer une réorientation").click()
    ml.get_by_label(SEARCH_LABEL).press_sequentially("jardins", delay=40)
    radio = ml.get_by_role("radio", name="Chantier Les Jardins")
    radio.wait_for()
    radio.check(force=True)
    ml.get_by_label("Motif de la réorientation").fill("Un chantier d'insertion lui conviendra")
    check_accessibility(ml, "réorientation : formulaire")
    ml.get_by_role("button", name="Proposer la réorientation").click()
    ml.get_by_text("Réorientation vers Chantier Les Jardins proposée").wait_for()

    _told(mail_sink, counsellor.email, f"{first.reference} : réorientation proposée")
    ft.goto(f"{base}/")
    ft.get_by_text("Réorientation proposée").first.wait_for()
    check_accessibility(ft, "accueil : réorientation proposée")
    ft.goto(first_page)
    ft.get_by_role("button", name="Confirmer la réorientation").click()
    modal = ft.get_by_role("dialog", name="Confirmer la réorientation ?")
    modal_opened(ft, "modale-confirm_transfer")
    check_accessibility(ft, "réorientation (fenêtre de confirmation)")
    modal.get_by_role("button", name="Confirmer la réorientation").click()
    ft.get_by_text("« confirmer la réorientation » fait").wait_for()
    first.refresh_from_db()
    assert first.status == ReferralStatus.TRANSFERRED
    second = first.transferred_to
    assert (second.receiver_organisation, second.status) == (siae, ReferralStatus.SENT)
    ft.get_by_role("heading", name="Réorientée vers Chantier Les Jardins").wait_for()
    check_accessibility(ft, "orientation réorientée")
    second_page = base + reverse("web:referral-detail", args=[second.pk])

    # 3. The SIAE accepts and sets an appointment; Léa does not come.
    jardins = new_page()
    log_in(jardins, base, siae_counsellor)
    jardins.goto(second_page)
    jardins.get_by_text("Suite de la réorientation de").wait_for()
    check_accessibility(jardins, "orientation reçue (SIAE)")
    jardins.get_by_role("button", name="Accepter").click()
    jardins.get_by_text("« accepter » fait").wait_for()
    _book(jardins, timezone.now() + dt.timedelta(days=1))
    _in_the_past(second)
    jardins.goto(second_page)
    _record_absence(jardins, "absence (fenêtre de confirmation)")
    _write(
        jardins,
        "Léa n'est pas venue ce matin ; nous la réinvitons.",
        "SIAE : message après l'absence",
    )
    _told(mail_sink, counsellor.email, f"{second.reference} : personne absente au rendez-vous")
    _told(mail_sink, counsellor.email, f"{second.reference} : nouveau message de Chantier")

    # The scan alerts the absence (the worker, the real clock plus a minute).
    scan_at = timezone.now() + dt.timedelta(minutes=1)
    report = alerts_scan.delay(now=scan_at.isoformat()).get(timeout=60)
    assert report["raised"][AlertKind.NO_SHOW] == 1

    # France Travail answers; the SIAE re-invites her; she misses it too.
    ft.goto(second_page)
    _write(ft, "Merci, je l'appelle aujourd'hui.", "France Travail : réponse à la SIAE")
    jardins.goto(second_page)
    _book(jardins, timezone.now() + dt.timedelta(days=2))
    _told(mail_sink, counsellor.email, f"{second.reference} : personne réinvitée")
    _in_the_past(second)
    jardins.goto(second_page)
    _record_absence(jardins, "seconde absence (fenêtre de confirmation)")
    check_accessibility(jardins, "orientation après la seconde absence")

    # 4. The second absence is alerted too, then up the ladder two days later.
    scan_at = timezone.now() + dt.timedelta(minutes=1)
    report = alerts_scan.delay(now=scan_at.isoformat()).get(timeout=60)
    assert report["raised"][AlertKind.NO_SHOW] == 1
    absences = Alert.objects.filter(referral=second, kind=AlertKind.NO_SHOW, level=1)
    assert absences.count() == 2
    assert absences.values("appointment").distinct().count() == 2  # one per appointment
    alerts_scan.delay(now=(scan_at + dt.timedelta(hours=49)).isoformat()).get(timeout=60)
    rungs = Alert.objects.filter(referral=second, kind=AlertKind.NO_SHOW, level__gt=1)
    assert sorted(rungs.values_list("level", "audience")) == [
        (2, "counsellors"),
        (3, "managers"),
    ]
    _told(mail_sink, counsellor.email, "Relance — ")
    _told(mail_sink, siae_manager.email, "Escalade — ")
    for mail in mail_sink.to(siae_manager.email):
        assert "Martin" not in mail.text

    ft.goto(base + reverse("web:alerts"))
    row = ft.get_by_role("row").filter(has_text="Escalade, échelon 1 : conseillers")
    row.get_by_text("Léa Martin").wait_for()
    check_accessibility(ft, "alertes : la relance (France Travail)")
    shot(ft, "alertes-escalade")

    manager = new_page()
    log_in(manager, base, siae_manager)
    manager.goto(base + reverse("web:alerts"))
    row = manager.get_by_role("row").filter(has_text="Escalade, échelon 2 : responsables")
    row.get_by_text("Personne (identité non partagée)").wait_for()
    check_accessibility(manager, "alertes : l'escalade (responsable de la SIAE)")
    # The header's badge counts what the list shows.
    open_alerts = Alert.objects.filter(referral=second).exclude(state="resolved").count()
    badge = "alerte non traitée" if open_alerts == 1 else "alertes non traitées"
    manager.get_by_text(f"{open_alerts} {badge}").wait_for()
