"""A CCAS without accounts answers a referral through its link, in a real browser (Debian
chromium through Playwright; issue 19): it opens the link from its e-mail without signing in,
accepts, sets the appointment (a date in the past first: the French error, the place kept),
records that the person came and closes with the outcome. The link refuses a second referral's
URL; France Travail revokes the second referral's link from its page, and the link then opens
nothing; a new link, once expired, opens nothing either. Axe clean on every page and state.

The lead extends this journey with the person's part (issue 19's other acceptance)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from parcours.models import AccessEvent, ReceiverLink, ReferralStatus
from tests.factories import (
    ConsentFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
)
from tests.receiver_link.conftest import LinkWorld, sender_actor, token_of

from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def _world() -> LinkWorld:
    france_travail = OrganisationFactory(name="France Travail Arras")
    ccas = OrganisationFactory(name="CCAS de Bapaume", contact_email="accueil@ccas-bapaume.fr")
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=france_travail)
    ConsentFactory(person=person, organisations=[ccas], categories=["identity", "pathway"])
    return LinkWorld(
        france_travail=france_travail,
        ccas=ccas,
        sender=sender_actor(france_travail),
        pathway=pathway,
    )


def _link_url(base: str, referral, link: ReceiverLink) -> str:
    return base + reverse(
        "web:receiver-link", kwargs={"referral_pk": referral.pk, "token": token_of(link)}
    )


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_ccas_without_accounts_answers_through_its_link(live_server, new_page):
    world = _world()
    first = world.send()
    second = world.send(person=PersonFactory(first_name="Marc", last_name="Dupont"))
    first_link = ReceiverLink.objects.get(referral=first)
    first_token = token_of(first_link)  # as the e-mail carries it (blanked at its first use)
    base = live_server.url

    ccas = new_page()
    ccas.goto(_link_url(base, first, first_link))
    ccas.get_by_role("heading", name=f"Orientation {first.reference}").wait_for()
    ccas.get_by_text("Léa Martin").wait_for()
    ccas.get_by_role("heading", name="demandez-en un").wait_for()
    shot(ccas, "lien-destinataire")
    check_accessibility(ccas, "lien : orientation reçue")
    ccas.get_by_role("button", name="Accepter").click()
    ccas.get_by_text(f"Orientation {first.reference} : « accepter » fait.").wait_for()
    check_accessibility(ccas, "lien : orientation acceptée")

    # A date already past: the French error, the place typed kept.
    ccas.get_by_label("Date et heure du rendez-vous").fill(
        _local(timezone.now() - dt.timedelta(days=1))
    )
    ccas.get_by_label("Lieu").fill("Mairie de Bapaume, bureau 2")
    ccas.get_by_role("button", name="Fixer le rendez-vous").click()
    ccas.get_by_text("Un rendez-vous se fixe à venir : cette date est passée.").wait_for()
    assert ccas.get_by_label("Lieu").input_value() == "Mairie de Bapaume, bureau 2"
    check_accessibility(ccas, "lien : rendez-vous dans le passé (erreur)")
    starts = (timezone.now() + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    ccas.get_by_label("Date et heure du rendez-vous").fill(_local(starts))
    ccas.get_by_role("button", name="Fixer le rendez-vous").click()
    ccas.get_by_text("« fixer un rendez-vous » fait.").wait_for()
    ccas.get_by_text("Mairie de Bapaume, bureau 2").wait_for()

    # The appointment has begun: the person came, the outcome goes back to France Travail.
    with time_machine.travel(starts + dt.timedelta(minutes=10), tick=True):
        ccas.reload()
        ccas.get_by_role("button", name="Constater la venue").click()
        ccas.get_by_text("« constater la venue » fait.").wait_for()
        check_accessibility(ccas, "lien : venue constatée")
        ccas.get_by_label("Suite donnée").select_option(label="Accompagnement engagé")
        ccas.get_by_label("Retour d'information").fill("Dossier FSL déposé.")
        ccas.get_by_role("button", name="Clôturer avec retour d'information").click()
        ccas.get_by_role("heading", name="Orientation terminée").wait_for()
        check_accessibility(ccas, "lien : orientation terminée")
    first.refresh_from_db()
    assert first.status == ReferralStatus.CLOSED
    assert first.outcome_comment == "Dossier FSL déposé."
    writes = AccessEvent.objects.filter(operation="write", organisation=world.ccas)
    assert {e.detail["receiver_link"] for e in writes} == {first_link.pk}
    assert all(e.user_id is None for e in writes)

    # The first link on the second referral's URL: refused, nothing of Marc shown.
    ccas.goto(
        base + reverse("web:receiver-link", kwargs={"referral_pk": second.pk, "token": first_token})
    )
    ccas.get_by_role("heading", name="Lien introuvable").wait_for()
    assert ccas.get_by_text("Marc").count() == 0
    check_accessibility(ccas, "lien : autre orientation")

    # France Travail revokes the second referral's link: it opens nothing any more.
    second_link = ReceiverLink.objects.get(referral=second)
    second_url = _link_url(base, second, second_link)
    sender = new_page()
    log_in(sender, base, world.sender.user)
    sender.goto(base + reverse("web:referral-detail", args=[second.pk]))
    sender.get_by_role("heading", name="Lien d'accès sans compte de CCAS de Bapaume").wait_for()
    check_accessibility(sender, "orientation envoyée : lien actif")
    sender.get_by_role("button", name="Révoquer le lien").click()
    sender.get_by_text("Lien d'accès révoqué : il n'ouvre plus rien.").wait_for()
    check_accessibility(sender, "orientation envoyée : lien révoqué")
    ccas.goto(second_url)
    ccas.get_by_role("heading", name="Lien révoqué").wait_for()
    check_accessibility(ccas, "lien : révoqué")

    # A new link works; once expired, it opens nothing either.
    sender.get_by_role("button", name="Envoyer un nouveau lien").click()
    sender.get_by_text("Nouveau lien envoyé").wait_for()
    renewed = ReceiverLink.objects.get(referral=second, revoked_at__isnull=True)
    ccas.goto(_link_url(base, second, renewed))
    ccas.get_by_role("button", name="Accepter").wait_for()
    ReceiverLink.objects.filter(pk=renewed.pk).update(
        created_at=timezone.now() - dt.timedelta(days=40),
        expires_at=timezone.now() - dt.timedelta(days=10),
    )
    ccas.reload()
    ccas.get_by_role("heading", name="Lien expiré").wait_for()
    check_accessibility(ccas, "lien : expiré")
    second.refresh_from_db()
    assert second.status == ReferralStatus.SENT
