import pytest
from django.core.management import call_command
from django.utils import timezone

from parcours.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Pathway,
    PathwayEvent,
    Person,
    Referral,
    ReferralStatus,
    Role,
)


@pytest.mark.django_db
def test_seed_demo_builds_a_realistic_area_once():
    call_command("seed_demo")

    assert set(Organisation.objects.values_list("kind", flat=True)) == set(OrganisationKind.values)
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    assert Person.objects.count() == 200
    assert Pathway.objects.filter(status="open").count() == 200
    assert set(Referral.objects.values_list("status", flat=True)) == set(ReferralStatus.values)
    assert all(o.group_id for o in Organisation.objects.all())
    referrals = Referral.objects.count()
    # Everything that happened, happened before today (the sent referrals' « dernière réponse »).
    now = timezone.now()
    assert not PathwayEvent.objects.filter(occurred_at__gt=now).exists()
    for field in ("sent_at", "accepted_at", "refused_at", "withdrawn_at", "expired_at"):
        assert not Referral.objects.filter(**{f"{field}__gt": now}).exists(), field
    for field in ("attended_at", "no_show_at", "closed_at", "transferred_at"):
        assert not Referral.objects.filter(**{f"{field}__gt": now}).exists(), field

    call_command("seed_demo")  # idempotent: a second run adds nothing

    assert Person.objects.count() == 200
    assert Referral.objects.count() == referrals


@pytest.mark.django_db
def test_the_demo_shows_overdue_plan_actions_on_the_holders_home():
    from django.contrib.auth import get_user_model

    from parcours.actor import Actor
    from parcours.selectors.action_plan import overdue_actions_for

    call_command("seed_demo")
    for username, key in (("siae.conseiller", "siae"), ("ft.conseiller", "ft")):
        membership = Membership.objects.get(user__username=username)
        actor = Actor(
            user=get_user_model().objects.get(username=username),
            organisation=membership.organisation,
            role=membership.role,
        )
        assert overdue_actions_for(actor).exists(), key


@pytest.mark.django_db
def test_the_demo_s_partner_system_token_reads_the_departement_s_referrals():
    """The token `make run` prints (bin/run): the département's rSa software, within its scopes."""
    from rest_framework.test import APIClient

    from parcours.management.commands.seed_demo import DEMO_API_TOKEN

    call_command("seed_demo")
    client = APIClient(HTTP_AUTHORIZATION=f"Token {DEMO_API_TOKEN}")
    me = client.get("/api/v1/me/").json()
    assert me["acting_organisation"]["name"].startswith("Département")
    referrals = client.get("/api/v1/referrals/")
    assert referrals.status_code == 200 and referrals.json()["results"]
    assert client.get("/api/v1/consents/").status_code == 403  # not in its scopes
    from pathlib import Path

    assert DEMO_API_TOKEN in (Path(__file__).parents[1] / "bin" / "run").read_text()


@pytest.mark.django_db
def test_the_demo_s_ccas_without_accounts_answers_by_its_link(client):
    """`make run` shows issue 19's link: France Travail's referral to the CCAS de Liévin (no
    account) made a link, its e-mail is in the outbox, and the URL printed opens the referral."""
    import io
    import re
    from urllib.parse import urlsplit

    from notifications.models import OutboxKind, OutboxMessage
    from parcours.models import ReceiverLink

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    ccas = Organisation.objects.get(name="CCAS de Liévin")
    assert not Membership.objects.filter(organisation=ccas).exists()
    link = ReceiverLink.objects.get(referral__receiver_organisation=ccas)
    assert link.referral.status == ReferralStatus.SENT
    mail = OutboxMessage.objects.get(kind=OutboxKind.RECEIVER_LINK, receiver_link=link)
    assert mail.to_email == ccas.contact_email
    url = re.search(r"Lien d'accès sans compte de démonstration .*: (\S+)", out.getvalue())[1]
    page = client.get(urlsplit(url).path)
    assert page.status_code == 200 and "CCAS de Liévin" in page.text
