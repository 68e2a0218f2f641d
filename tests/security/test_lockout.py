"""Lockout after repeated failed sign-ins (issue 15): on the pages' login and the admin's, per
username and address, for the cool-off; every failure and lockout journaled as a security event
and shown by the DPO's anomaly report."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from parcours.actor import Actor
from parcours.gate.journal import SECURITY_PURPOSE
from parcours.models import AccessEvent, Role
from parcours.services.dpo_reports import dpo_anomalies_report
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"  # tests.factories.UserFactory
LOCKED = "Compte temporairement verrouillé"
LOGIN = "/connexion/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def agent():
    return MembershipFactory(organisation=OrganisationFactory(name="France Travail Lens")).user


def _try(client: Client, user_or_name, password: str, path: str = LOGIN, ip: str = "203.0.113.7"):
    username = getattr(user_or_name, "username", user_or_name)
    data = {"username": username, "password": password}
    if path == ADMIN_LOGIN:
        data["next"] = "/admin/"
    return client.post(path, data, REMOTE_ADDR=ip)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _security_rows(**filters) -> list[AccessEvent]:
    return list(
        AccessEvent.objects.filter(object_type="account", **filters).order_by("occurred_at", "id")
    )


def test_five_wrong_passwords_then_the_right_one_is_refused(agent):
    client = Client()
    for attempt in range(1, 5):
        response = _try(client, agent, "pas le bon")
        assert response.status_code == 200, attempt
        assert "mot de passe valides" in response.content.decode()
    fifth = _try(client, agent, "pas le bon")
    assert fifth.status_code == 429
    assert LOCKED in fifth.content.decode()

    right = _try(client, agent, PASSWORD)
    page = right.content.decode()
    assert right.status_code == 429
    assert LOCKED in page and "15 minutes" in page and 'lang="fr"' in page
    assert not _signed_in(client)

    rows = _security_rows(user=agent)
    assert [r.operation for r in rows] == ["login_failed"] * 5 + ["lockout", "login_failed"]
    assert [r.detail["failures"] for r in rows[:5]] == [1, 2, 3, 4, 5]
    assert rows[5].detail == {
        "door": "page",
        "failures": 5,
        "cool_off_minutes": 15,
        "after": "login_failed",
    }
    assert rows[6].detail["while_locked"] is True  # the right password, refused while locked
    for row in rows:
        assert (row.object_id, row.organisation_id, row.purpose) == (
            agent.pk,
            None,
            SECURITY_PURPOSE,
        )
        assert str(row.client_ip) == "203.0.113.7"
        assert row.detail["door"] == "page"


def test_after_the_cool_off_the_right_password_is_accepted(agent):
    client = Client()
    for _ in range(5):
        _try(client, agent, "pas le bon")
    assert _try(client, agent, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=14), tick=True):
        assert _try(client, agent, PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=16), tick=True):
        response = _try(client, agent, PASSWORD)
        assert response.status_code == 302
        assert _signed_in(client)


def test_the_lock_is_per_username_and_address(agent):
    for _ in range(5):
        _try(Client(), agent, "pas le bon", ip="203.0.113.7")
    assert _try(Client(), agent, PASSWORD, ip="203.0.113.7").status_code == 429
    # The owner, from their own office, is not kept out by someone else's attempts.
    other_place = Client()
    assert _try(other_place, agent, PASSWORD, ip="198.51.100.20").status_code == 302
    assert _signed_in(other_place)


def test_a_success_before_the_limit_starts_the_count_again(agent):
    client = Client()
    for _ in range(4):
        _try(client, agent, "pas le bon")
    assert _try(client, agent, PASSWORD).status_code == 302
    client.post("/deconnexion/")
    for _ in range(4):
        assert _try(client, agent, "pas le bon").status_code == 200
    assert _try(client, agent, PASSWORD).status_code == 302


def test_the_admin_login_locks_too():
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(4):
        assert _try(client, staff, "pas le bon", path=ADMIN_LOGIN).status_code == 200
    assert _try(client, staff, "pas le bon", path=ADMIN_LOGIN).status_code == 429
    right = _try(client, staff, PASSWORD, path=ADMIN_LOGIN)
    assert right.status_code == 429
    assert LOCKED in right.content.decode()
    assert not _signed_in(client)
    rows = _security_rows(user=staff)
    assert [r.operation for r in rows] == ["login_failed"] * 5 + ["lockout", "login_failed"]
    assert {r.detail["door"] for r in rows} == {"admin"}
    # One count for both doors: the pages' login is locked for this username and address too.
    assert _try(client, staff, PASSWORD).status_code == 429


def test_a_long_username_on_the_admin_login_is_a_failure_not_an_error():
    response = _try(Client(), "x" * 10_001, "pas le bon", path=ADMIN_LOGIN)
    assert response.status_code == 200
    (row,) = _security_rows()
    assert row.user_id is None and row.detail["username"] == "x" * 150


def test_a_name_that_matches_no_account_is_journaled_with_the_name():
    for _ in range(5):
        _try(Client(), "jean.personne", "devinette")
    rows = _security_rows()
    assert [r.operation for r in rows] == ["login_failed"] * 5 + ["lockout"]
    assert {r.user_id for r in rows} == {None}
    assert {r.detail["username"] for r in rows} == {"jean.personne"}


def _report(dpo_user, organisation):
    actor = Actor(user=dpo_user, organisation=organisation, role=dpo_user.memberships.get().role)
    now = timezone.now()
    return dpo_anomalies_report(
        actor=actor, start=now - dt.timedelta(days=1), end=now + dt.timedelta(minutes=1)
    )


def test_the_dpos_anomaly_report_shows_the_lockout_with_its_failures(agent):
    organisation = agent.memberships.get().organisation
    dpo = MembershipFactory(organisation=organisation, role=Role.DPO).user
    other_dpo = MembershipFactory(organisation=OrganisationFactory(), role=Role.DPO).user
    national = MembershipFactory(organisation=OrganisationFactory(), role=Role.NATIONAL_DPO).user
    for _ in range(5):
        _try(Client(), agent, "pas le bon")
    for _ in range(5):
        _try(Client(), "jean.personne", "devinette")

    findings = _report(dpo, organisation)
    (lockout,) = [f for f in findings if f.kind == "lockout"]
    assert lockout.label == "Compte verrouillé après des échecs de connexion"
    assert lockout.user_id == agent.pk and lockout.organisation == "France Travail Lens"
    assert "après 5 échecs depuis l'adresse 203.0.113.7, pour 15 minutes" in lockout.summary
    assert [row.operation for row in lockout.evidence] == ["Échec de connexion"] * 5 + [
        "Verrouillage du compte"
    ]
    assert lockout.evidence[0].record == f"compte utilisateur n°{agent.pk}"
    (failures,) = [f for f in findings if f.kind == "sign_in_failures"]
    assert failures.summary.startswith("5 échecs de connexion le ")
    # An account that is none of theirs, a name that matches no account: not this DPO's.
    assert {f.user_id for f in findings} == {agent.pk}
    assert [f for f in _report(other_dpo, other_dpo.memberships.get().organisation)] == []
    # The national DPO sees both, the unknown name by its name.
    everyone = {f.user_name for f in _report(national, national.memberships.get().organisation)}
    assert "identifiant inconnu « jean.personne »" in everyone
    assert agent.get_full_name() in everyone


def test_the_anomaly_page_shows_the_lockout(agent):
    organisation = agent.memberships.get().organisation
    dpo = MembershipFactory(organisation=organisation, role=Role.DPO).user
    for _ in range(5):
        _try(Client(), agent, "pas le bon")
    client = Client()
    client.force_login(dpo)
    today = timezone.localdate()
    page = client.get(
        "/protection-des-donnees/anomalies/",
        {"du": (today - dt.timedelta(days=1)).isoformat(), "au": today.isoformat()},
    ).content.decode()
    assert "Compte verrouillé après des échecs de connexion" in page
    assert agent.get_full_name() in page
    assert "Verrouillage du compte" in page


def test_settings_name_the_limit_and_the_cool_off():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.PARCOURS_LOGIN_COOLOFF_MINUTES == 15
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_the_user_activity_report_lists_the_accounts_security_events(agent):
    from parcours.services.dpo_reports import dpo_user_report

    organisation = agent.memberships.get().organisation
    dpo = MembershipFactory(organisation=organisation, role=Role.DPO).user
    for _ in range(5):
        _try(Client(), agent, "pas le bon")
    now = timezone.now()
    report = dpo_user_report(
        actor=Actor(user=dpo, organisation=organisation, role=Role.DPO),
        user_id=agent.pk,
        start=now - dt.timedelta(hours=1),
        end=now + dt.timedelta(minutes=1),
    )
    assert [row.operation for row in report.rows] == ["Échec de connexion"] * 5 + [
        "Verrouillage du compte"
    ]
    assert {row.client_ip for row in report.rows} == {"203.0.113.7"}
