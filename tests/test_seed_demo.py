import pytest
from django.core.management import call_command

from parcours.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Pathway,
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

    call_command("seed_demo")  # idempotent: a second run adds nothing

    assert Person.objects.count() == 200
    assert Referral.objects.count() == referrals
