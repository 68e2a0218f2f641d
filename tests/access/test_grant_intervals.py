"""Bases and relationships that end by the clock alone end on time, as grant intervals (issue 12,
found by the stateful test tests/gate/test_gate_stateful.py):

- a legal basis with an age condition (a Mission locale's `legal:spe` for people under 26) ends
  on the person's 26th birthday, not at the next recompute that happens to run;
- each reason of a relationship keeps its own span: a referral that ended keeps its parties for
  the grace period with *its* cap, never merged with another reason's span (an open referral
  capped to less, a sender's uncapped view that ended).

Nothing but the clock moves in these tests, and the periodic clean-up runs as beat would: the
rows' intervals alone must open and close access.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from parcours.access import grants_for
from parcours.models import PathwayGroupObjectPermission
from parcours.services.access_grants import access_recompute
from parcours.tasks import access_prune_expired_grants

from ..factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)
GRACE = dt.timedelta(days=settings.PARCOURS_RELATIONSHIP_GRACE_DAYS)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _sees(actor, pathway) -> dict[str, frozenset[str]]:
    return grants_for(actor, [pathway.pk])[pathway.pk].bases


def test_the_mission_locale_basis_ends_on_the_26th_birthday(clock, make_actor, client_for):
    """A CCAS holds the pathway of a young woman turning 26 in ten days; the Mission locale of
    her care team sees her under its public-service mission until then, not one day more."""
    mission = make_actor(mission_locale=True, name="Mission locale de Lens")
    ccas = make_actor(kind="ccas", name="CCAS de Lens")
    birthday = timezone.localdate() + dt.timedelta(days=10)
    person = PersonFactory(birth_date=birthday.replace(year=birthday.year - 26))
    pathway = PathwayFactory(person=person, owner_organisation=ccas.organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=mission.organisation)

    assert _sees(mission, pathway) == {
        "identity": {"legal:spe"},
        "contact": {"legal:spe"},
        "pathway": {"legal:spe"},
    }
    ends = timezone.make_aware(dt.datetime.combine(birthday, dt.time.min))
    rows = PathwayGroupObjectPermission.objects.filter(
        group_id=mission.organisation.group_id, content_object=pathway
    )
    assert set(rows.values_list("valid_until", flat=True)) == {ends}

    url = f"/api/v1/pathways/{pathway.pk}/"
    clock.move_to(ends - dt.timedelta(seconds=1))
    assert client_for(mission).get(url).status_code == 200
    clock.move_to(ends)  # her birthday: no recompute, no job
    assert _sees(mission, pathway) == {}
    assert client_for(mission).get(url).status_code == 404
    access_prune_expired_grants()  # what beat runs: the clean-up changes nothing visible
    assert _sees(mission, pathway) == {}
    assert not rows.exists()
    # The holder is not concerned by her age.
    assert set(_sees(ccas, pathway)) == {"identity", "contact", "pathway", "social"}


def test_a_29th_february_birthday_ends_on_the_1st_of_march(clock, make_actor):
    """Born on 29 February 2000, she is 26 from 1 March 2026 (`Person.age` counts so)."""
    clock.move_to(dt.datetime(2026, 2, 20, 10, 0, tzinfo=dt.UTC))
    mission = make_actor(mission_locale=True)
    person = PersonFactory(birth_date=dt.date(2000, 2, 29))
    pathway = PathwayFactory(person=person, owner_organisation=make_actor(kind="ccas").organisation)
    CareTeamMemberFactory(pathway=pathway, organisation=mission.organisation)
    rows = PathwayGroupObjectPermission.objects.filter(
        group_id=mission.organisation.group_id, content_object=pathway
    )
    ends = timezone.make_aware(dt.datetime(2026, 3, 1))
    assert set(rows.values_list("valid_until", flat=True)) == {ends}
    clock.move_to(ends - dt.timedelta(seconds=1))
    assert person.under_26 and set(_sees(mission, pathway)) == {"identity", "contact", "pathway"}
    clock.move_to(ends)
    assert not person.under_26 and _sees(mission, pathway) == {}


def _closed_today(**fields):
    referral = ReferralFactory(with_consent=False, accepted=True, **fields)
    referral.status, referral.closed_at, referral.outcome = "closed", NOW, "support_started"
    referral.save()
    access_recompute(pathway_id=referral.pathway_id)
    return referral


def test_a_closed_referrals_wider_cap_ends_with_its_grace(clock, make_actor, client_for):
    """France Travail holds the pathway; an SIAE has the person's consent to identity, pathway
    and social. A first referral to the SIAE shared social and closed today; a second one, open,
    shares only what a referral always carries. After the first one's grace, social is gone."""
    holder = make_actor(name="France Travail Lens")
    siae = make_actor(siae=True, name="Les Jardins du Bassin")
    pathway = PathwayFactory(owner_organisation=holder.organisation)
    ConsentFactory(
        person=pathway.person,
        organisations=[siae.organisation],
        categories=["identity", "pathway", "social"],
        collected_by_organisation=holder.organisation,
    )
    _closed_today(
        pathway=pathway, receiver_organisation=siae.organisation, shared_categories=["social"]
    )
    ReferralFactory(
        pathway=pathway, receiver_organisation=siae.organisation, with_consent=False, sent=True
    )
    assert set(_sees(siae, pathway)) == {"identity", "pathway", "social"}
    clock.move_to(NOW + GRACE + dt.timedelta(seconds=1))
    assert set(_sees(siae, pathway)) == {"identity", "pathway"}
    access_prune_expired_grants()  # what beat runs
    assert set(_sees(siae, pathway)) == {"identity", "pathway"}
    body = client_for(siae).get(f"/api/v1/pathways/{pathway.pk}/").json()
    assert body["categories"] == ["identity", "pathway"]
    assert "diagnostic_summary" not in body


def test_a_senders_uncapped_view_ends_with_its_grace(clock, make_actor):
    """An SIAE sent the person to a CCAS (closed today: the SIAE keeps its sender's view for the
    grace period); the CCAS sent her on to the SIAE (open, sharing the minimum). After the
    grace, the SIAE sees what the open referral shares, not all its consent covers."""
    holder = make_actor(name="France Travail Lens")
    siae = make_actor(siae=True, name="Les Jardins du Bassin")
    ccas = make_actor(kind="ccas", name="CCAS de Lens")
    pathway = PathwayFactory(owner_organisation=holder.organisation)
    ConsentFactory(
        person=pathway.person,
        organisations=[siae.organisation],
        categories=["identity", "contact", "pathway", "social"],
        collected_by_organisation=holder.organisation,
    )
    _closed_today(
        pathway=pathway,
        sender_organisation=siae.organisation,
        receiver_organisation=ccas.organisation,
    )
    ReferralFactory(
        pathway=pathway,
        sender_organisation=ccas.organisation,
        receiver_organisation=siae.organisation,
        with_consent=False,
        sent=True,
    )
    assert set(_sees(siae, pathway)) == {"identity", "contact", "pathway", "social"}
    assert _sees(siae, pathway)["social"] == {f"consent:{pathway.person.consents.get().pk}"}
    assert grants_for(siae, [pathway.pk])[pathway.pk].relations == {"sender", "receiver"}
    clock.move_to(NOW + GRACE + dt.timedelta(seconds=1))
    # No recompute yet: the rows' intervals alone; then what beat runs.
    assert set(_sees(siae, pathway)) == {"identity", "pathway"}
    access_prune_expired_grants()
    assert set(_sees(siae, pathway)) == {"identity", "pathway"}
    # The journal's purpose follows: the SIAE now reads as a receiver only.
    assert grants_for(siae, [pathway.pk])[pathway.pk].relations == {"receiver"}
