"""Issue 19's acceptance as one story, in a real browser: a CCAS without accounts answers a
referral through the link it was e-mailed; the person then signs in to their space with the code
the real relay e-mails them, sees that this CCAS consulted their record (when and why, by a link,
no name), and withdraws the consent the CCAS's access rested on; the CCAS's next load of its link
keeps only what ADR 0010 keeps for an open referral, and France Travail's page shows the
withdrawal. (Each half has its own longer journey: the link's refusals in
test_receiver_link_journey.py; the space's errors and FranceConnect in
test_person_space_journey.py, where a CCAS with accounts, in the care team on the consent alone,
finds the record gone at its next load.)"""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from parcours.models import AccessEvent, Consent, ReceiverLink
from tests.factories import ConsentFactory, OrganisationFactory, PathwayFactory, PersonFactory
from tests.processes import wait_until
from tests.receiver_link.conftest import LinkWorld, sender_actor, token_of

from .browser import check_accessibility, log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

EMAIL = "lea.martin@exemple.fr"
BIRTH = dt.date(1991, 9, 14)


def grants_of(organisation, pathway) -> dict[str, str]:
    """Category → the bases of the organisation's grant on the pathway, in force now."""
    from parcours.models import PathwayGroupObjectPermission

    now = timezone.now()
    return {
        codename.removeprefix("view_pathway_"): basis
        for codename, basis in PathwayGroupObjectPermission.objects.filter(
            group_id=organisation.group_id,
            content_object=pathway,
            permission__codename__startswith="view_pathway_",
        )
        .exclude(valid_until__lte=now)
        .values_list("permission__codename", "basis")
    }


def test_the_person_sees_the_ccas_that_answered_by_its_link_and_withdraws_its_consent(
    live_server, new_page, celery_worker_process, mail_sink
):
    france_travail = OrganisationFactory(name="France Travail Arras")
    # A CCAS is outside the public employment service: its access rests on the consent alone.
    ccas = OrganisationFactory(
        name="CCAS de Bapaume", kind="ccas", contact_email="accueil@ccas-bapaume.fr"
    )
    person = PersonFactory(first_name="Léa", last_name="Martin", birth_date=BIRTH, email=EMAIL)
    pathway = PathwayFactory(person=person, owner_organisation=france_travail)
    consent = ConsentFactory(
        person=person, organisations=[ccas], categories=["identity", "pathway"]
    )
    world = LinkWorld(
        france_travail=france_travail,
        ccas=ccas,
        sender=sender_actor(france_travail),
        pathway=pathway,
    )
    referral = world.send()
    base = live_server.url
    link_url = base + reverse(
        "web:receiver-link",
        kwargs={
            "referral_pk": referral.pk,
            "token": token_of(ReceiverLink.objects.get(referral=referral)),
        },
    )

    # The CCAS, without an account, opens its link and accepts.
    link_page = new_page()
    link_page.goto(link_url)
    link_page.get_by_text("Léa Martin").wait_for()
    link_page.get_by_role("button", name="Accepter").click()
    link_page.get_by_text(f"Orientation {referral.reference} : « accepter » fait.").wait_for()
    read = (
        AccessEvent.objects.filter(organisation=ccas, operation="read", person_id=person.pk)
        .exclude(detail__receiver_link=None)
        .latest("occurred_at")
    )

    # The person signs in with the code the relay e-mailed them.
    space = new_page()
    space.goto(base + reverse("web:person-space-sign-in"))
    space.get_by_label("Votre adresse e-mail").fill(EMAIL)
    space.get_by_label("Votre date de naissance").fill(BIRTH.isoformat())
    space.get_by_role("button", name="Recevoir un code").click()
    space.get_by_role("heading", name="Taper le code reçu par e-mail").wait_for()
    wait_until(lambda: len(mail_sink.to(EMAIL)) >= 1, what="the person's code")
    code = re.search(r"Votre code : (\d{6})", mail_sink.to(EMAIL)[0].text).group(1)
    space.get_by_label("Le code reçu par e-mail").fill(code)
    space.get_by_role("button", name="Ouvrir mon espace").click()
    space.wait_for_url(base + reverse("web:person-space"))

    # The CCAS's access through its link, when and why.
    when = timezone.localtime(read.occurred_at).strftime("%d/%m/%Y à %H:%M")
    line = space.get_by_text(f"a consulté votre dossier le {when} pour : {read.purpose}").first
    line.wait_for()
    assert "CCAS de Bapaume" in line.inner_text()
    check_accessibility(space, "espace personnel : l'accès du CCAS par son lien")

    # The consent withdrawn. France Travail's next load of the record shows it, withdrawn by
    # the person; the CCAS's link still opens the referral under way, with its minimum (who and
    # why, ADR 0010: a withdrawal never strands a person on the way) and nothing more.
    assert all(f"consent:{consent.pk}" in basis for basis in grants_of(ccas, pathway).values())
    space.get_by_role("link", name="Retirer mon consentement pour CCAS de Bapaume").click()
    space.get_by_role("button", name="Oui, retirer mon consentement").click()
    space.get_by_role("heading", name="Votre consentement est retiré").wait_for()
    withdrawn = Consent.objects.get(pk=consent.pk)
    assert withdrawn.revoked_at is not None and withdrawn.revoked_by_person
    counsellor = new_page()
    log_in(counsellor, base, world.sender.user)
    counsellor.goto(base + reverse("web:person-detail", args=[person.pk]))
    today = timezone.localdate().strftime("%d/%m/%Y")
    counsellor.get_by_text(f"Retiré le {today} par la personne").wait_for()
    check_accessibility(counsellor, "fiche personne : accord retiré par la personne")
    link_page.reload()
    link_page.get_by_text("Léa Martin").wait_for()
    assert set(grants_of(ccas, pathway)) == {"identity", "pathway"}
    assert all(basis == f"referral:{referral.pk}" for basis in grants_of(ccas, pathway).values())
