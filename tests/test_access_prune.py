"""Expired grants: ignored at once by reads, then removed by the idempotent periodic task."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from parcours.models import PathwayGroupObjectPermission
from parcours.tasks import access_prune_expired_grants
from tests.factories import CareTeamMemberFactory, ConsentFactory, PathwayFactory

pytestmark = pytest.mark.django_db


def test_expired_consent_grants_are_removed_and_the_task_is_idempotent():
    pathway = PathwayFactory()
    member = CareTeamMemberFactory(pathway=pathway, organisation__siae=True)  # no legal basis
    ends = timezone.localdate() + dt.timedelta(days=2)
    ConsentFactory(
        person=pathway.person,
        organisations=[member.organisation],
        categories=["identity", "health"],
        ends_on=ends,
    )
    group = member.organisation.group
    granted = PathwayGroupObjectPermission.objects.filter(group=group, content_object=pathway)
    assert set(granted.values_list("permission__codename", flat=True)) == {
        "view_pathway_identity",
        "view_pathway_health",
    }
    assert all(row.valid_until is not None for row in granted.all())

    with time_machine.travel(timezone.now() + dt.timedelta(days=5)):
        assert access_prune_expired_grants() == 1
        assert not granted.all().exists()  # .all(): a fresh query, not the cached rows
        assert access_prune_expired_grants() == 0  # nothing left to do
