"""seed_scale at toy size: the bench generator must keep producing valid data.

COPY runs with every constraint and trigger on, so a generator that breaks a CHECK, a partial
unique index or a foreign key fails the command itself; the asserts below check the shape.
"""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db.models import Count
from stdnum.fr import siret

from parcours.models import (
    Appointment,
    ModalityPeriod,
    Organisation,
    Pathway,
    PathwayEvent,
    Person,
    Referral,
    ReferralStatus,
)
from parcours.models.person import normalise_name

PATHWAYS = 300


@pytest.fixture
def seeded(transactional_db):
    # COPY runs in its own transactions, hence a transactional test (flushed afterwards).
    call_command("seed_scale", pathways=PATHWAYS, organisations=100, seed=7, stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_seed_scale_builds_a_coherent_small_dataset(seeded):
    assert Person.objects.count() == PATHWAYS
    assert Pathway.objects.count() == PATHWAYS
    assert ModalityPeriod.objects.count() == PATHWAYS
    assert PathwayEvent.objects.filter(kind="pathway_opened").count() == PATHWAYS

    referrals = Referral.objects.count()
    assert 2.4 * PATHWAYS <= referrals <= 3.6 * PATHWAYS
    present = set(Referral.objects.values_list("status", flat=True).distinct())
    assert present == set(ReferralStatus.values)

    # Every referral waiting for its appointment has exactly one pending appointment.
    waiting = Referral.objects.filter(status=ReferralStatus.APPOINTMENT_SET)
    assert Appointment.objects.filter(referral__in=waiting, outcome="pending").count() == (
        waiting.count()
    )

    organisations = list(Organisation.objects.select_related("group"))
    assert len(organisations) == 100
    assert {o.kind for o in organisations} >= {"france_travail", "siae", "mission_locale"}
    for organisation in organisations:
        assert siret.is_valid(organisation.siret)
        assert organisation.group.name == f"organisation:{organisation.siret}"
        assert organisation.services.exists()
        assert organisation.memberships.exists()
    assert Group.objects.filter(name__startswith="organisation:").count() == 100

    for person in Person.objects.all()[:50]:
        assert person.name_key == (
            f"{normalise_name(person.last_name)}|{normalise_name(person.first_name)}"
        )

    # Skewed sizes: the biggest owner holds far more pathways than the median one.
    sizes = sorted(
        Pathway.objects.values("owner_organisation")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    assert sizes[-1] >= 5 * sizes[len(sizes) // 2]

    # Identity sequences were moved past the copied ids: the ORM can insert after a seed.
    person = Person.objects.create(
        first_name="Éloïse", last_name="Test", birth_date="1990-01-01", name_key="test|eloise"
    )
    assert person.pk == PATHWAYS + 1


@pytest.mark.django_db(transaction=True)
def test_seed_scale_refuses_a_database_with_data(seeded):
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_scale", pathways=10, organisations=20, stdout=io.StringIO())
