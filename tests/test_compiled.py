"""A query compiled once (parcours/compiled.py) gives what the ORM gives, in one query."""

import pytest
from django.db.models import OuterRef, Subquery

from parcours.compiled import CompiledQuery
from parcours.models import Membership, Organisation

from .factories import MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def _by_siret(siret: str):
    return (
        Organisation.objects.select_related("employment_area", "group")
        .annotate(
            first_role=Subquery(
                Membership.objects.filter(organisation_id=OuterRef("pk"), is_active=True)
                .order_by("pk")
                .values("role")[:1]
            )
        )
        .filter(siret=siret)
        .order_by("pk")[:1]
    )


BY_SIRET = CompiledQuery(Organisation, _by_siret, "siret")


def test_a_compiled_query_answers_as_the_orm(django_assert_num_queries):
    membership = MembershipFactory(role="social_worker")
    other = OrganisationFactory()
    organisation = membership.organisation
    for wanted in (organisation, other, organisation):  # compiled once, run with each value
        orm = _by_siret(wanted.siret).get()
        with django_assert_num_queries(1):
            found = BY_SIRET.first(siret=wanted.siret)
            # The related rows came with it, as select_related's.
            assert found.employment_area.name == orm.employment_area.name
            assert found.group.name == orm.group.name
        assert found.pk == wanted.pk
        for field in Organisation._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
        assert found.first_role == orm.first_role
        assert found._state.adding is False and found._state.db == "default"
    assert BY_SIRET.first(siret="00000000000000") is None


def test_a_value_the_sql_does_not_hold_once_is_refused():
    twice = CompiledQuery(
        Organisation,
        lambda siret: (
            Organisation.objects.filter(siret=siret) | Organisation.objects.filter(name=siret)
        ),
        "siret",
    )
    with pytest.raises(ValueError, match="expected once"):
        twice.first(siret="x")
