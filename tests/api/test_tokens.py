"""Partner systems' tokens (issue 15): hashed at rest, expiring, scoped, renewed with a grace
period, revoked by an administrator or by their account's password change, stamped with their
last use, throttled each at its own rate in Redis, and managed by administrators only."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.urls import get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from parcours import api_scopes
from parcours.errors import NoMembership
from parcours.models import AccessEvent, ApiToken, Membership, Role

from ..factories import PathwayFactory, api_token_for

pytestmark = pytest.mark.django_db

LEA = {"first_name": "Léa", "last_name": "Martin", "birth_date": "2001-03-04"}


def _client(secret: str, organisation_id: int | None = None) -> APIClient:
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Token {secret}"}
    if organisation_id is not None:
        headers["HTTP_X_PARCOURS_ORGANISATION"] = str(organisation_id)
    client.credentials(**headers)
    return client


@pytest.fixture
def admin(make_actor, world):
    return make_actor(organisation=world.home, role=Role.ADMIN)


@pytest.fixture
def admin_client(admin):
    client = APIClient()
    client.force_authenticate(user=admin.user)
    client.credentials(HTTP_X_PARCOURS_ORGANISATION=str(admin.organisation.pk))
    return client


# --- made by administrators, stored hashed -----------------------------------------------------


def test_an_administrator_makes_a_token_whose_secret_is_shown_once_and_stored_hashed(
    admin_client, world
):
    created = admin_client.post(
        "/api/v1/api-tokens/",
        {
            "system_name": "Logiciel rSa",
            "scopes": ["referrals:read", "pathways:read"],
            "valid_days": 30,
            "role": "counsellor",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("prc_") and len(secret) > 40
    token = ApiToken.objects.get(pk=body["id"])
    # Only the digest is kept: the secret is nowhere in the row.
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(t)::text FROM parcours_apitoken t WHERE id = %s", [token.pk]
        )
        (row,) = cursor.fetchone()
    assert secret not in row and secret[len(token.prefix) :] not in row
    assert body["prefix"] == secret[: len(token.prefix)]
    # Expiry, scopes, a technical account of the organisation with the role chosen.
    assert token.expires_at - token.created_at == dt.timedelta(days=30)
    assert [s["label"] for s in body["scopes"]] == ["Parcours — lecture", "Orientations — lecture"]
    assert body["account"]["technical"] is True
    assert Membership.objects.get(user=token.account).role == Role.COUNSELLOR
    assert not token.account.has_usable_password()
    # The secret never shows again.
    listed = admin_client.get("/api/v1/api-tokens/").json()["results"]
    assert [t["id"] for t in listed] == [token.pk]
    assert "secret" not in listed[0] and "digest" not in listed[0]
    assert admin_client.get(f"/api/v1/api-tokens/{token.pk}/").json()["status"] == "active"
    # And it works, for its organisation.
    assert _client(secret).get("/api/v1/pathways/").status_code == 200
    (row,) = AccessEvent.objects.filter(operation="token_created")
    assert (row.user_id, row.organisation_id, row.object_id) == (
        admin_client.handler._force_user.pk,
        world.home.pk,
        token.pk,
    )


def test_a_token_can_act_as_a_member(admin_client, world):
    created = admin_client.post(
        "/api/v1/api-tokens/",
        {"system_name": "Script de Léa", "scopes": ["persons:write"], "member": world.me.user.pk},
        format="json",
    )
    assert created.status_code == 201, created.content
    token = ApiToken.objects.get(pk=created.json()["id"])
    assert token.account == world.me.user
    assert created.json()["account"]["technical"] is False
    posted = _client(created.json()["secret"]).post("/api/v1/persons/", LEA, format="json")
    assert posted.status_code == 201, posted.content


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scopes": ["referrals:read"], "role": "counsellor"}, "system_name"),
        ({"system_name": "   ", "scopes": ["referrals:read"], "role": "counsellor"}, "system_name"),
        ({"system_name": "SI", "scopes": [], "role": "counsellor"}, "scopes"),
        ({"system_name": "SI", "scopes": ["everything:write"], "role": "counsellor"}, "scopes"),
        ({"system_name": "SI", "scopes": ["referrals:read"]}, "role"),
        ({"system_name": "SI", "scopes": ["referrals:read"], "role": "admin"}, "role"),
        ({"system_name": "SI", "scopes": ["referrals:read"], "member": 999999999}, "member"),
        (
            {"system_name": "SI", "scopes": ["referrals:read"], "role": "dpo", "valid_days": 0},
            "valid_days",
        ),
        (
            {"system_name": "SI", "scopes": ["referrals:read"], "role": "dpo", "valid_days": 366},
            "valid_days",
        ),
        (
            {"system_name": "SI\u202e", "scopes": ["referrals:read"], "role": "dpo"},
            "system_name",
        ),
    ],
    ids=[
        "no-name",
        "blank-name",
        "no-scope",
        "unknown-scope",
        "no-account",
        "admin-role",
        "stranger-member",
        "zero-days",
        "beyond-a-year",
        "rtl-override",
    ],
)
def test_bad_token_requests_get_french_field_errors(admin_client, payload, field):
    response = admin_client.post("/api/v1/api-tokens/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert ApiToken.objects.count() == 0


def test_a_member_of_another_organisation_cannot_be_the_account(admin_client, world):
    response = admin_client.post(
        "/api/v1/api-tokens/",
        {"system_name": "SI", "scopes": ["referrals:read"], "member": world.stranger.user.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["member"] == ["Choisissez un membre actif de votre organisation."]


def test_only_administrators_manage_tokens_and_only_their_organisation_s(
    client_for, world, make_actor
):
    token, _secret = api_token_for(world.me)
    for actor in (world.me, world.manager, world.dpo):
        client = client_for(actor)
        assert client.get("/api/v1/api-tokens/").status_code == 403
        assert client.post(f"/api/v1/api-tokens/{token.pk}/revoke/").status_code == 403
    other_admin = make_actor(organisation=world.elsewhere, role=Role.ADMIN)
    client = client_for(other_admin)
    assert client.get("/api/v1/api-tokens/").json()["results"] == []
    assert client.get(f"/api/v1/api-tokens/{token.pk}/").status_code == 404
    assert client.post(f"/api/v1/api-tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/api/v1/api-tokens/{token.pk}/renew/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_token_never_manages_tokens(admin):
    _token, secret = api_token_for(admin)  # even an administrator's, with every scope
    response = _client(secret).get("/api/v1/api-tokens/")
    assert response.status_code == 403
    assert "jetons d'accès des systèmes" in response.json()["detail"]


# --- bound to an organisation, within scopes -----------------------------------------------------


def test_a_token_acts_for_its_organisation_only(world, make_actor):
    # The account also belongs to another organisation: the token still acts for its own.
    Membership.objects.create(user=world.me.user, organisation=world.siae, role=Role.COUNSELLOR)
    _token, secret = api_token_for(world.me)
    assert _client(secret).get("/api/v1/me/").json()["acting_organisation"]["id"] == world.home.pk
    assert _client(secret, world.home.pk).get("/api/v1/me/").status_code == 200
    refused = _client(secret, world.siae.pk).get("/api/v1/me/")
    assert refused.status_code == 403
    assert refused.json()["detail"] == NoMembership().message


def test_a_token_cannot_choose_an_acting_organisation_nor_get_a_session(world):
    _token, secret = api_token_for(world.me)
    response = _client(secret).post(
        "/api/v1/me/acting-organisation/", {"organisation": world.home.pk}, format="json"
    )
    assert response.status_code == 403
    assert "sessionid" not in response.cookies


def test_scopes_narrow_what_a_token_may_call(world):
    PathwayFactory(owner_organisation=world.home)
    _token, secret = api_token_for(world.me, scopes=["pathways:read"])
    client = _client(secret)
    assert client.get("/api/v1/pathways/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200  # always: who the token acts as
    refused = client.get("/api/v1/referrals/")
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith(
        "Ce jeton d'accès ne couvre pas « Orientations — lecture »"
    )
    written = client.post("/api/v1/persons/", LEA, format="json")
    assert written.status_code == 403
    assert "« Personnes — écriture »" in written.json()["detail"]


def test_scopes_never_widen_the_role(world):
    # A manager sees no identity: a token with every scope still answers as the gate says.
    _token, secret = api_token_for(world.manager)
    response = _client(secret).post("/api/v1/persons/", LEA, format="json")
    assert response.status_code == 403
    assert "ne couvre pas" not in response.json()["detail"]


def test_every_api_view_names_its_token_family():
    """Fail closed: a view without a family refuses tokens; this test makes forgetting it
    visible (a family, or an explicit None for the views closed to tokens)."""
    missing = []
    known = {*api_scopes.FAMILIES, api_scopes.Family.ACCOUNT, None}

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            view = getattr(pattern.callback, "cls", None)
            route = prefix + str(pattern.pattern)
            if view is None or "api/v1" not in route:
                continue
            if not hasattr(view, "token_family") or view.token_family not in known:
                missing.append(route)

    walk(get_resolver().url_patterns)
    assert missing == []


# --- expiry, revocation, renewal, password change ------------------------------------------------


def test_an_expired_token_is_refused_with_its_date(world):
    _token, secret = api_token_for(world.me, days=1)
    assert _client(secret).get("/api/v1/me/").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, minutes=1)):
        response = _client(secret).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Jeton d'accès expiré le ")
    assert response.headers["WWW-Authenticate"] == "Token"


def test_a_revoked_token_is_refused_at_once(admin_client, world):
    token, secret = api_token_for(world.me)
    assert _client(secret).get("/api/v1/me/").status_code == 200
    revoked = admin_client.post(f"/api/v1/api-tokens/{token.pk}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["status_label"] == "Révoqué"
    response = _client(secret).get("/api/v1/me/")
    assert response.status_code == 401
    assert "révoqué par un administrateur" in response.json()["detail"]
    # Twice changes nothing; one journal row.
    assert admin_client.post(f"/api/v1/api-tokens/{token.pk}/revoke/").status_code == 200
    assert AccessEvent.objects.filter(operation="token_revoked", object_id=token.pk).count() == 1


@override_settings(PARCOURS_API_TOKEN_RENEWAL_GRACE_HOURS=72)
def test_renewal_gives_a_successor_and_the_old_token_a_grace_period(admin_client, world):
    old, old_secret = api_token_for(world.me, days=90, scopes=["referrals:read"])
    renewed = admin_client.post(f"/api/v1/api-tokens/{old.pk}/renew/")
    assert renewed.status_code == 201, renewed.content
    new_secret = renewed.json()["secret"]
    new = ApiToken.objects.get(pk=renewed.json()["id"])
    assert (new.replaces_id, new.scopes, new.account_id) == (
        old.pk,
        ["referrals:read"],
        world.me.user.pk,
    )
    assert new.expires_at - new.created_at == dt.timedelta(days=90)
    old.refresh_from_db()
    assert old.expires_at <= timezone.now() + dt.timedelta(hours=72)
    assert admin_client.get(f"/api/v1/api-tokens/{old.pk}/").json()["status"] == "renewed"
    # Both work during the switch; after it, only the successor.
    assert _client(old_secret).get("/api/v1/referrals/").status_code == 200
    assert _client(new_secret).get("/api/v1/referrals/").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(hours=73)):
        assert _client(old_secret).get("/api/v1/referrals/").status_code == 401
        assert _client(new_secret).get("/api/v1/referrals/").status_code == 200
    # A token is renewed once.
    again = admin_client.post(f"/api/v1/api-tokens/{old.pk}/renew/")
    assert again.status_code == 400
    assert "déjà renouvelé" in again.json()["detail"]


def test_changing_the_password_revokes_the_account_s_tokens(client, world):
    token, secret = api_token_for(world.me)
    _other, other_secret = api_token_for(world.siae_counsellor)
    user = world.me.user
    user.set_password("ancien-Mot-de-passe-2026")
    user.save()
    token.refresh_from_db()
    assert token.revoked_at is not None  # setting it is a change too
    token, secret = api_token_for(world.me)
    client.force_login(user)
    changed = client.post(
        "/mot-de-passe/",
        {
            "old_password": "ancien-Mot-de-passe-2026",
            "new_password1": "Nouvelle phrase de passe 2027",
            "new_password2": "Nouvelle phrase de passe 2027",
        },
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    response = _client(secret).get("/api/v1/me/")
    assert response.status_code == 401
    assert "mot de passe du compte changé" in response.json()["detail"]
    assert _client(other_secret).get("/api/v1/me/").status_code == 200
    rows = AccessEvent.objects.filter(operation="token_revoked", object_id=token.pk)
    assert [(r.user_id, r.organisation_id, r.detail["by"]) for r in rows] == [
        (user.pk, world.home.pk, "password")
    ]


def test_a_rehash_at_sign_in_is_not_a_password_change(world):
    user = world.me.user
    user.set_password("Une phrase de passe 2026")
    user.save()
    _token, secret = api_token_for(world.me)
    with override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
            "django.contrib.auth.hashers.MD5PasswordHasher",
        ]
    ):
        assert user.check_password("Une phrase de passe 2026")  # upgrades the hash
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_")
    assert _client(secret).get("/api/v1/me/").status_code == 200


def test_a_deactivated_account_s_token_is_refused(world):
    _token, secret = api_token_for(world.me)
    world.me.user.is_active = False
    world.me.user.save()
    response = _client(secret).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Le compte de ce jeton d'accès est désactivé."


# --- last use, journal, throttling ---------------------------------------------------------------


def test_last_use_is_stamped_at_most_once_a_minute(world):
    token, secret = api_token_for(world.me)
    client = _client(secret)
    client.get("/api/v1/me/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None and token.last_used_ip == "127.0.0.1"
    client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at == first
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        client.get("/api/v1/me/")
    token.refresh_from_db()
    assert token.last_used_at > first


def test_the_journal_names_the_token_a_read_came_through(world):
    pathway = PathwayFactory(owner_organisation=world.home)
    token, secret = api_token_for(world.me)
    assert _client(secret).get(f"/api/v1/pathways/{pathway.pk}/").status_code == 200
    row = AccessEvent.objects.filter(operation="read", object_type="pathway").latest("id")
    assert (row.user_id, row.detail["door"], row.detail["api_token"]) == (
        world.me.user.pk,
        "api",
        token.pk,
    )


def test_each_token_is_throttled_at_its_own_rate(world):
    _slow, slow_secret = api_token_for(world.me, requests_per_minute=3)
    _other, other_secret = api_token_for(world.me, requests_per_minute=3)
    slow = _client(slow_secret)
    assert [slow.get("/api/v1/me/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = slow.get("/api/v1/me/")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert "Requête ralentie" in throttled.json()["detail"]
    # Another token of the same account is counted apart.
    assert _client(other_secret).get("/api/v1/me/").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert slow.get("/api/v1/me/").status_code == 200


@override_settings(PARCOURS_API_ANONYMOUS_RATE="2/minute")
def test_anonymous_requests_are_throttled_per_address():
    client = APIClient(REMOTE_ADDR="198.51.100.23")
    assert [client.get("/api/schema/").status_code for _ in range(2)] == [200, 200]
    assert client.get("/api/schema/").status_code == 429
    assert APIClient(REMOTE_ADDR="198.51.100.24").get("/api/schema/").status_code == 200


@override_settings(PARCOURS_API_REFUSED_TOKEN_RATE="2/minute")
def test_refused_tokens_are_throttled_per_address(world):
    _token, secret = api_token_for(world.me)
    client = APIClient(REMOTE_ADDR="198.51.100.25", HTTP_AUTHORIZATION="Token prc_nope")
    assert [client.get("/api/v1/me/").status_code for _ in range(2)] == [401, 401]
    assert client.get("/api/v1/me/").status_code == 429
    # A good token from elsewhere is not concerned.
    assert _client(secret).get("/api/v1/me/").status_code == 200


# --- DRF's tokens of the previous version --------------------------------------------------------


def test_the_previous_version_s_tokens_carry_over_hashed_for_thirty_days(world):
    import importlib

    from django.apps import apps as current_apps

    migration = importlib.import_module("parcours.migrations.0025_api_tokens")
    legacy_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz, "
            "user_id integer)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, now(), %s)", [legacy_key, world.me.user.pk]
        )
    with connection.schema_editor() as editor:
        migration.carry_over_legacy_tokens(current_apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get()
    assert legacy_key not in str(token.__dict__)
    assert token.organisation == world.home
    assert token.expires_at - token.created_at == dt.timedelta(days=30)
    assert _client(legacy_key).get("/api/v1/me/").json()["id"] == world.me.user.pk


def test_the_audit_s_300_requests_are_not_all_answered_at_the_default_rate(world):
    """The audit sent 300 requests with one token and got 300 answers: now the default rate
    (PARCOURS_API_TOKEN_REQUESTS_PER_MINUTE) holds."""
    from django.conf import settings

    rate = settings.PARCOURS_API_TOKEN_REQUESTS_PER_MINUTE
    _token, secret = api_token_for(world.me, requests_per_minute=rate)
    client = _client(secret)
    statuses = [client.get("/api/v1/me/").status_code for _ in range(300)]
    assert statuses[:rate] == [200] * rate
    assert set(statuses[rate:]) == {429}


def test_a_token_s_actor_comes_with_the_token_in_one_query(world):
    """Issue 17: the account's role in the token's organisation is read with the token, not by
    a query of its own; a membership deactivated since is still refused."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _token, secret = api_token_for(world.me)
    client = _client(secret)
    client.get("/api/v1/referrals/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/referrals/").status_code == 200
    assert not [q for q in queries if q["sql"].startswith('SELECT "parcours_membership"')]
    Membership.objects.filter(user=world.me.user).update(is_active=False)
    refused = client.get("/api/v1/referrals/")
    assert refused.status_code == 403
    assert refused.json()["detail"] == NoMembership().message
