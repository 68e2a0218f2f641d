"""seed_scale at toy size: the bench generator must keep producing valid data.

COPY runs with every constraint and trigger on, so a generator that breaks a CHECK, a partial
unique index or a foreign key fails the command itself; the asserts below check the shape.
"""

import io
import random

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from stdnum.fr import siret

from parcours.models import (
    Appointment,
    Consent,
    ModalityPeriod,
    Organisation,
    Pathway,
    PathwayEvent,
    PathwayGroupObjectPermission,
    Person,
    Referral,
    ReferralStatus,
)
from parcours.models.grant import permission_ids
from parcours.models.person import normalise_name
from parcours.services.access_grants import access_recompute

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
    # Both made inside PostgreSQL from the pathways: each pathway's own, as pathway_open writes.
    for pathway in Pathway.objects.order_by("?")[:30]:
        period = ModalityPeriod.objects.get(pathway=pathway)
        assert (period.modality, period.started_at, period.ended_at, period.set_by_id) == (
            pathway.modality,
            pathway.opened_at,
            None,
            pathway.referent_id,
        )
        event = PathwayEvent.objects.get(pathway=pathway)
        assert (event.occurred_at, event.actor_id, event.organisation_id, event.text) == (
            pathway.opened_at,
            pathway.referent_id,
            pathway.owner_organisation_id,
            "",
        )
        assert pathway.last_contact_at == (pathway.closed_at or pathway.opened_at)

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
        # Encrypted fields read back (tokens made per row, or drawn from a pool).
        assert person.address and person.postal_code and person.rqth in (True, False)

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


def _grant_rows(pathway_ids):
    return sorted(
        PathwayGroupObjectPermission.objects.filter(content_object_id__in=pathway_ids).values_list(
            "id", "group_id", "permission_id", "content_object_id", "valid_until", "basis"
        )
    )


@pytest.mark.django_db(transaction=True)
def test_seed_scale_grants_are_what_the_access_rules_compute(seeded):
    """The generator writes grants with COPY instead of calling access_recompute per pathway:
    recomputing a sample must change nothing, so the bench measures the rows the rules make."""
    ids = permission_ids()
    owner_rows = PathwayGroupObjectPermission.objects.filter(basis__contains="legal:owner")
    assert owner_rows.values("content_object_id").distinct().count() == PATHWAYS
    assert Consent.objects.exists()
    assert Consent.organisations.through.objects.count() == Consent.objects.count()
    consent_rows = PathwayGroupObjectPermission.objects.filter(basis__contains="consent:")
    assert {r.permission_id for r in consent_rows} == {
        ids["view_pathway_identity"],
        ids["view_pathway_pathway"],
        ids["change_pathway"],
    }
    assert PathwayGroupObjectPermission.objects.filter(valid_until__isnull=False).exists()
    sent = Referral.objects.exclude(status=ReferralStatus.DRAFT)
    assert not sent.exclude(shared_categories=["identity", "pathway"]).exists()

    # A sample of pathways with the most relationships, plus random ones.
    busy = list(
        Pathway.objects.annotate(n=Count("referrals"))
        .order_by("-n", "id")
        .values_list("id", flat=True)[:15]
    )
    # And the intervals the rules make: a legal basis that ends on a 26th birthday (a Mission
    # locale), one organisation holding a category under reasons that end apart (its own
    # pathway, and a referral it sent that closed within the grace period).
    birthdays = set(
        PathwayGroupObjectPermission.objects.filter(
            basis__contains="legal:spe",
            valid_until__isnull=False,
            group__organisation__kind="mission_locale",
        ).values_list("content_object_id", flat=True)
    )
    apart = set(
        PathwayGroupObjectPermission.objects.values("group_id", "permission_id", "content_object")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("content_object", flat=True)
    )
    assert birthdays and apart
    sample = sorted(
        set(busy)
        | set(random.Random(3).sample(range(1, PATHWAYS + 1), 15))
        | set(sorted(birthdays)[:10])
        | set(sorted(apart)[:10])
    )
    before = _grant_rows(sample)
    assert before
    for pathway_id in sample:
        access_recompute(pathway_id=pathway_id)
    assert _grant_rows(sample) == before


@pytest.mark.django_db(transaction=True)
def test_seed_scale_no_grants(transactional_db):
    call_command(
        "seed_scale",
        pathways=50,
        organisations=20,
        seed=1,
        no_grants=True,
        stdout=io.StringIO(),
    )
    assert not PathwayGroupObjectPermission.objects.exists()
    assert not Consent.objects.exists()


def _foreign_keys() -> set[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text LIKE 'parcours_%'"
        )
        return set(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_seed_scale_bulk_fk_checks_puts_every_foreign_key_back(transactional_db):
    """--bulk-fk-checks drops a table's foreign keys for its load and adds them back validated:
    the schema ends as it started, and the data is the same shape as with per-row checks."""
    before = _foreign_keys()
    call_command(
        "seed_scale",
        pathways=80,
        organisations=20,
        seed=5,
        bulk_fk_checks=True,
        stdout=io.StringIO(),
    )
    assert _foreign_keys() == before
    assert Pathway.objects.count() == 80
    assert ModalityPeriod.objects.count() == PathwayEvent.objects.count() == 80
    assert Referral.objects.exists() and PathwayGroupObjectPermission.objects.exists()
