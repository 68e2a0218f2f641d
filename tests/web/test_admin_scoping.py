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
