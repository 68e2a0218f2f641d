"""The Django admin: superusers see every organisation; a staff administrator of one
organisation sees only its organisation, memberships and agreements."""

import pytest
from django.test import Client

from parcours.models import Role
from tests.factories import AgreementFactory, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_staff_administrator_sees_only_their_organisation():
    mine = OrganisationFactory(name="PLIE de Lens")
    other = OrganisationFactory(name="CCAS d'Arras")
    admin_user = UserFactory(is_staff=True)
    MembershipFactory(user=admin_user, organisation=mine, role=Role.ADMIN)
    colleague = MembershipFactory(organisation=mine).user
    outsider = MembershipFactory(organisation=other).user
    for model in ("organisation", "membership", "agreement"):
        from django.contrib.auth.models import Permission

        admin_user.user_permissions.add(
            *Permission.objects.filter(codename__in=[f"view_{model}", f"change_{model}"])
        )
    AgreementFactory(name="Convention PLIE", parties=[mine, other])
    AgreementFactory(name="Convention sans nous", parties=[other, OrganisationFactory()])
    client = Client()
    client.force_login(admin_user)

    page = client.get("/admin/parcours/organisation/").content.decode()
    assert "PLIE de Lens" in page and "CCAS d&#x27;Arras" not in page
    page = client.get("/admin/parcours/membership/").content.decode()
    assert colleague.username in page and outsider.username not in page
    page = client.get("/admin/parcours/agreement/").content.decode()
    assert "Convention PLIE" in page and "Convention sans nous" not in page
    assert client.get(f"/admin/parcours/organisation/{other.pk}/change/").status_code == 302


def test_superuser_sees_everything():
    OrganisationFactory(name="PLIE de Lens")
    OrganisationFactory(name="CCAS d'Arras")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/parcours/organisation/").content.decode()
    assert "PLIE de Lens" in page and "CCAS d&#x27;Arras" in page


def _staff_administrator_of(organisation, *permissions):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organisation=organisation, role=Role.ADMIN)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(user)
    return user, client


def test_another_organisations_history_is_answered_as_missing():
    """django-simple-history's pages looked the object up outside the admin's queryset: an
    administrator read, and reverted, another organisation's past versions."""
    mine, other = OrganisationFactory(name="PLIE de Lens"), OrganisationFactory(name="CCAS")
    outsider = MembershipFactory(organisation=other, role=Role.COUNSELLOR)
    _user, client = _staff_administrator_of(
        mine, "view_organisation", "change_organisation", "view_membership", "change_membership"
    )
    version = outsider.history.earliest("history_id").history_id
    for url in (
        f"/admin/parcours/organisation/{other.pk}/history/",
        f"/admin/parcours/membership/{outsider.pk}/history/",
        f"/admin/parcours/membership/{outsider.pk}/history/{version}/",
    ):
        response = client.get(url)
        assert (response.status_code, response.url) == (302, "/admin/"), url
    response = client.post(
        f"/admin/parcours/membership/{outsider.pk}/history/{version}/",
        {"user": outsider.user_id, "organisation": other.pk, "role": Role.ADMIN},
    )
    assert (response.status_code, response.url) == (302, "/admin/")
    outsider.refresh_from_db()
    assert outsider.role == Role.COUNSELLOR


def test_an_administrator_cannot_join_another_organisation():
    """The organisation field proposed (autocomplete) the organisations administered but
    accepted any: an administrator could make themselves administrator elsewhere."""
    mine, other = OrganisationFactory(), OrganisationFactory()
    user, client = _staff_administrator_of(mine, "add_membership", "view_membership")
    response = client.post(
        "/admin/parcours/membership/add/",
        {"user": user.pk, "organisation": other.pk, "role": Role.ADMIN, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not user.memberships.filter(organisation=other).exists()


def test_reading_the_retention_durations_does_not_change_them():
    """A past version was saved for anyone who may view the model: the durations, which only
    superusers change, were changed by reverting."""
    from parcours.models import RetentionRule

    rule, _ = RetentionRule.objects.update_or_create(
        category="pathway", defaults={"active_months": 24, "archived_months": 36}
    )
    months = rule.active_months
    _user, client = _staff_administrator_of(OrganisationFactory(), "view_retentionrule")
    version = rule.history.earliest("history_id").history_id
    url = f"/admin/parcours/retentionrule/{rule.pk}/history/{version}/"
    assert client.get(url).status_code == 200  # reading stays allowed
    response = client.post(
        url, {"category": rule.category, "active_months": 1, "archived_months": 1}
    )
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.active_months == months
