"""The receiving team in a real browser (Debian chromium through Playwright): the Mission
locale's manager finds a referral nobody handles yet in the inbox (« Non attribuées »), hands it
to a counsellor — a French error first when nobody is chosen —, and the counsellor then finds it
in « Mes orientations » and in her caseload on the home page; France Travail, which sent it,
reads who is in charge but has no form. axe on every page and state."""

import pytest
from django.urls import reverse

from parcours.models import CareTeamMember, Referral

from ..team.conftest import build_team_world
from .browser import check_accessibility, log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_dispatches_a_received_referral_to_a_counsellor(live_server, new_page):
    team = build_team_world()
    base = live_server.url
    reference = team.referral.reference

    # The manager: the inbox, the referrals nobody is in charge of.
    page = new_page()
    log_in(page, base, team.ml_manager.user)
    page.goto(base + reverse("web:inbox"))
    page.get_by_label("Conseiller en charge").select_option(label="Non attribuées")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**attribution=non-attribuees**")
    row = page.get_by_role("row").filter(has_text=reference)
    row.get_by_text("non attribuée").wait_for()
    check_accessibility(page, "orientations reçues : non attribuées")
    row.get_by_role("link", name=reference).click()
    page.get_by_text("Conseiller en charge : personne pour l'instant").wait_for()
    check_accessibility(page, "orientation : à confier")

    # Nobody chosen: the French error on the field, nothing written.
    page.get_by_role("button", name="Confier", exact=True).click()
    page.get_by_text("Choisissez le conseiller à qui confier l'orientation.").wait_for()
    check_accessibility(page, "orientation : à confier (erreurs)")
    assert Referral.objects.get(pk=team.referral.pk).assigned_user_id is None

    page.get_by_label("Confier à").select_option(label="Inès Moreau")
    shot(page, "orientation-confier")
    page.get_by_role("button", name="Confier", exact=True).click()
    page.get_by_text(f"Orientation {reference} confiée à Inès Moreau.").wait_for()
    page.get_by_text("Conseiller en charge : Inès Moreau").wait_for()
    check_accessibility(page, "orientation confiée")
    assert Referral.objects.get(pk=team.referral.pk).assigned_user == team.ml_counsellor.user

    # The counsellor: « Mes orientations », then her caseload on the home page.
    counsellor = new_page()
    log_in(counsellor, base, team.ml_counsellor.user)
    counsellor.get_by_text("Mes personnes suivies (1)").wait_for()
    counsellor.get_by_role("link", name="Léa Martin").first.wait_for()
    check_accessibility(counsellor, "accueil : personnes suivies")
    counsellor.goto(base + reverse("web:inbox"))
    counsellor.get_by_label("Conseiller en charge").select_option(label="Mes orientations")
    counsellor.get_by_role("button", name="Filtrer").click()
    counsellor.wait_for_url("**attribution=mes-orientations**")
    counsellor.get_by_text("1 orientation(s)").wait_for()
    mine = counsellor.get_by_role("row").filter(has_text=reference)
    mine.get_by_text("Léa Martin").wait_for()
    mine.get_by_text("Inès Moreau").wait_for()
    shot(counsellor, "orientations-recues-mes-orientations")
    check_accessibility(counsellor, "orientations reçues : mes orientations")

    # She accepts it: still hers, and the Mission locale now follows Léa (care team).
    mine.get_by_role("link", name=reference).click()
    counsellor.get_by_role("button", name="Accepter").click()
    counsellor.get_by_text("« accepter » fait").wait_for()
    assert CareTeamMember.objects.filter(pathway=team.pathway, organisation=team.ml).exists()
    counsellor.get_by_text("Conseiller en charge : Inès Moreau").wait_for()

    # France Travail, which sent it: reads who is in charge, no form to change it.
    sender = new_page()
    log_in(sender, base, team.ft_counsellor.user)
    sender.goto(base + reverse("web:referral-detail", args=[team.referral.pk]))
    sender.get_by_text("Conseiller en charge : Inès Moreau").wait_for()
    assert sender.get_by_role("button", name="Confier", exact=True).count() == 0
    check_accessibility(sender, "orientation envoyée : conseiller en charge")
