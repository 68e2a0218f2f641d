"""The second factor (issue 15): TOTP with recovery codes, mandatory for DPOs and
administrators, offered to everyone; asked after the password on the pages, required by the
admin site; enrolments, refused codes, used recovery codes and removals journaled."""

import re
import time

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from parcours.models import AccessEvent, Role
from parcours.services.account_security import second_factor_required
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from tests.second_factor import code_from_secret, enrol, next_code

pytestmark = pytest.mark.django_db

PASSWORD = "secret-pass-123"
SETUP = "/compte/double-authentification/"
VERIFY = "/connexion/verification/"
CODES = "/compte/double-authentification/codes-de-secours/"
DPO_HOME = "/protection-des-donnees/"
# After a refused code the app refuses any for a second (django-otp's throttling: 1, 2, 4 … s).
THROTTLE = 1.1


def _sign_in(client: Client, user, next_url: str = "") -> str:
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post("/connexion/", data)
    assert response.status_code == 302, response.content.decode()[:500]
    return response.url


def _secret(page: str) -> str:
    return re.search(r'<code class="parcours-secret" id="cle-secrete">([A-Z2-7 ]+)</code>', page)[1]


def _operations(user) -> list[str]:
    return list(
        AccessEvent.objects.filter(object_type="account", user=user)
        .order_by("id")
        .values_list("operation", flat=True)
    )


@pytest.fixture
def dpo():
    organisation = OrganisationFactory(name="Département du Pas-de-Calais")
    return MembershipFactory(organisation=organisation, role=Role.DPO).user


def test_who_must_have_a_second_factor():
    organisation = OrganisationFactory()
    for role, required in (
        (Role.DPO, True),
        (Role.NATIONAL_DPO, True),
        (Role.ADMIN, True),
        (Role.COUNSELLOR, False),
        (Role.SOCIAL_WORKER, False),
        (Role.MANAGER, False),
    ):
        user = MembershipFactory(organisation=organisation, role=role).user
        assert second_factor_required(user) is required, role
    assert second_factor_required(UserFactory(is_staff=True))
    assert second_factor_required(UserFactory(is_superuser=True))
    former = MembershipFactory(organisation=organisation, role=Role.DPO, is_active=False).user
    assert not second_factor_required(former)


def test_a_dpo_enrols_then_signs_in_with_a_code(dpo):
    client = Client()
    # The password alone: sent to set up the app, nothing else opens.
    assert _sign_in(client, dpo) == f"{SETUP}?next=%2F"
    assert client.get(DPO_HOME).url.startswith(SETUP)
    assert client.get("/").url.startswith(SETUP)
    page = client.get(SETUP, {"next": "/"}).content.decode()
    assert "Obligatoire pour votre compte" in page
    assert '<svg role="img" aria-label="QR code' in page
    secret = _secret(page)
    # A wrong code: refused in French, nothing set up, journaled.
    wrong = client.post(SETUP, {"code": "000000" if code_from_secret(secret) != "000000" else "1"})
    assert "Ce code n&#x27;est pas le bon" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=dpo, confirmed=True).exists()
    time.sleep(THROTTLE)
    # The app's code: set up, the session passed, ten recovery codes shown once.
    response = client.post(SETUP, {"code": code_from_secret(secret), "next": "/"})
    assert response.url == f"{CODES}?next=%2F"
    codes_page = client.get(response.url).content.decode()
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", codes_page)
    assert len(codes) == 10
    assert set(codes) == set(
        StaticToken.objects.filter(device__user=dpo).values_list("token", flat=True)
    )
    assert "ne seront plus affichés" in codes_page
    again = client.get(CODES).content.decode()
    assert not set(codes) & set(re.findall(r"<code>([a-z2-7]{8})</code>", again))
    assert "déjà été affichés" in again
    assert client.get(DPO_HOME).status_code == 200
    assert _operations(dpo) == ["otp_failed", "otp_enrolled"]

    # Next sign-in: the code is asked.
    client.post("/deconnexion/")
    assert _sign_in(client, dpo) == f"{VERIFY}?next=%2F"
    assert client.get(DPO_HOME).url == f"{VERIFY}?next=%2Fprotection-des-donnees%2F"
    refused = client.post(VERIFY, {"code": "12345678", "next": "/"})
    assert refused.status_code == 200
    assert "Ce code n&#x27;est pas le bon" in refused.content.decode()
    device = TOTPDevice.objects.get(user=dpo, confirmed=True)
    time.sleep(THROTTLE)
    accepted = client.post(VERIFY, {"code": next_code(device), "next": DPO_HOME})
    assert accepted.url == DPO_HOME
    assert client.get(DPO_HOME).status_code == 200
    assert _operations(dpo) == ["otp_failed", "otp_enrolled", "otp_failed"]


def test_a_recovery_code_works_once(dpo):
    enrol(dpo)
    client = Client()
    client.force_login(dpo)
    client.post(CODES)  # new recovery codes (the session passed its second factor)
    code = StaticToken.objects.filter(device__user=dpo).first().token
    client.post("/deconnexion/")
    for attempt in ("first", "second"):
        client = Client()
        _sign_in(client, dpo)
        response = client.post(VERIFY, {"code": code.upper(), "next": "/"}, follow=True)
        if attempt == "first":
            assert "Code de secours utilisé : il vous en reste 9" in response.content.decode()
            assert response.redirect_chain[-1][0] == DPO_HOME
        else:
            assert "Ce code n&#x27;est pas le bon" in response.content.decode()
    assert _operations(dpo) == ["otp_codes", "otp_recovery", "otp_failed"]
    recovery = AccessEvent.objects.get(user=dpo, operation="otp_recovery")
    assert recovery.detail["recovery_codes_left"] == 9


def test_wrong_codes_lock_the_account_like_wrong_passwords(dpo):
    device = enrol(dpo)
    client = Client()
    _sign_in(client, dpo)
    for _ in range(4):
        assert client.post(VERIFY, {"code": "12345678"}).status_code == 200
    locked = client.post(VERIFY, {"code": "12345678"})
    assert locked.status_code == 429
    assert "Compte temporairement verrouillé" in locked.content.decode()
    assert "_auth_user_id" not in client.session  # the half-open session is ended
    # Locked: the password is refused too, then the code would be.
    assert (
        client.post("/connexion/", {"username": dpo.username, "password": PASSWORD}).status_code
        == 429
    )
    assert _operations(dpo) == ["otp_failed"] * 5 + ["lockout", "login_failed"]
    assert AccessEvent.objects.get(user=dpo, operation="lockout").detail["after"] == "otp_failed"
    assert next_code(device)  # the app itself is untouched


def test_the_api_refuses_a_session_without_its_second_factor(dpo):
    enrol(dpo)
    client = Client()
    client.force_login(dpo, second_factor=False)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert "Double authentification requise" in response.json()["detail"]
    client.force_login(dpo)
    assert client.get("/api/v1/me/").status_code == 200


def test_the_admin_needs_the_second_factor():
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    response = client.post(
        "/admin/login/", {"username": staff.username, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.url == "/admin/"
    # Password typed: the admin is not open yet; the pages ask to set up the app.
    assert client.get("/admin/").url.startswith(SETUP)
    enrol(staff)
    client.session.pop("parcours_second_factor", None)
    fresh = Client()
    fresh.post(
        "/admin/login/", {"username": staff.username, "password": PASSWORD, "next": "/admin/"}
    )
    assert fresh.get("/admin/").url == f"{VERIFY}?next=%2Fadmin%2F"
    device = TOTPDevice.objects.get(user=staff)
    assert fresh.post(VERIFY, {"code": next_code(device), "next": "/admin/"}).url == "/admin/"
    assert fresh.get("/admin/").status_code == 200


def test_the_admin_site_itself_refuses_an_unverified_staff_session():
    """Even past the middleware (a request it let through), the site asks for the factor."""
    from django.contrib import admin
    from django.test import RequestFactory

    staff = UserFactory(is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = staff
    staff.is_verified = lambda: False
    assert not admin.site.has_permission(request)
    staff.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_a_counsellor_signs_in_with_the_password_alone_and_may_enrol():
    counsellor = MembershipFactory().user
    client = Client()
    assert _sign_in(client, counsellor) == "/"
    assert client.get("/").status_code == 200
    preferences = client.get("/preferences/").content.decode()
    assert "Activer la double authentification" in preferences
    secret = _secret(client.get(SETUP).content.decode())
    assert "Obligatoire pour votre compte" not in client.get(SETUP).content.decode()
    client.post(SETUP, {"code": code_from_secret(secret)})
    client.post("/deconnexion/")
    assert _sign_in(client, counsellor) == f"{VERIFY}?next=%2F"
    # And may remove it, once confirmed; a DPO may not.
    client.force_login(counsellor)
    assert client.post("/compte/double-authentification/desactivation/").url.endswith(
        "confirmer=disable"
    )
    assert TOTPDevice.objects.filter(user=counsellor).exists()
    client.post("/compte/double-authentification/desactivation/", {"confirm": "1"})
    assert not TOTPDevice.objects.filter(user=counsellor).exists()
    assert not StaticToken.objects.filter(device__user=counsellor).exists()
    assert _operations(counsellor) == ["otp_enrolled", "otp_removed"]


def test_a_dpo_may_not_remove_it(dpo):
    client = Client()
    client.force_login(dpo)
    response = client.post("/compte/double-authentification/desactivation/", {"confirm": "1"})
    assert response.status_code == 403
    assert "obligatoire pour votre rôle" in response.content.decode()
    assert TOTPDevice.objects.filter(user=dpo, confirmed=True).exists()


def test_an_administrator_resets_a_lost_phone_and_it_is_journaled(dpo):
    device = enrol(dpo)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    admin_client = Client()
    admin_client.force_login(superuser)
    url = f"/admin/otp_totp/totpdevice/{device.pk}/delete/"
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    (row,) = AccessEvent.objects.filter(user=dpo, operation="otp_removed")
    assert row.detail["by"] == "administrator" and row.detail["administrator"] == superuser.pk
    assert row.detail["door"] == "admin"
    client = Client()
    assert _sign_in(client, dpo).startswith(SETUP)  # set up again at the next sign-in


def test_the_setup_page_is_not_a_way_around_the_code(dpo):
    """An account with an app, signed in with its password only, cannot set another up."""
    enrol(dpo)
    client = Client()
    _sign_in(client, dpo)
    assert client.get(SETUP).url.startswith(VERIFY)
    assert client.post(SETUP, {"code": "123456"}).url.startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=dpo).count() == 1


def test_next_never_leaves_the_site(dpo):
    device = enrol(dpo)
    client = Client()
    _sign_in(client, dpo)
    response = client.post(VERIFY, {"code": next_code(device), "next": "https://ailleurs.example/"})
    assert response.url == "/"
