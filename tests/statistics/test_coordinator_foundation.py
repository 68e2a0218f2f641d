"""The territorial coordinator (issue 18): the gate's table rows, the membership's employment
areas, and the access helpers that scope a coordinator's figures to the areas they cover."""

import pytest
from django.core.exceptions import ValidationError

from parcours import access
from parcours.actor import Actor, actor_for
from parcours.models import CASEWORK_ROLES, DPO_ROLES, Membership, Role
from parcours.request_memo import request_memo
from parcours.rules import ROLE_CATEGORIES, RULES, Action, Relation, role_categories
from tests.factories import (
    EmploymentAreaFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
)

COORDINATOR_ACTIONS = {
    Action.STATISTICS_READ,
    Action.TERRITORY_READ,
    Action.RECEIVE_TERRITORY_ESCALATIONS,
    # The case committee they run (CLCVP): its sessions, agenda and decisions, and the text
    # written for it — never a record (tests/committee/).
    Action.COMMITTEE_SCHEDULE,
    Action.COMMITTEE_DECIDE,
    Action.COMMITTEE_READ_ITEM,
    Action.COMMITTEE_LIST,
}


def test_the_coordinator_is_neither_a_case_worker_nor_a_dpo_and_sees_no_category():
    assert Role.COORDINATOR not in CASEWORK_ROLES
    assert Role.COORDINATOR not in DPO_ROLES
    assert ROLE_CATEGORIES[Role.COORDINATOR] == frozenset()
    assert role_categories(Role.COORDINATOR) == frozenset()


@pytest.mark.parametrize("action", list(Action))
def test_the_table_gives_the_coordinator_the_statistics_and_the_territory_only(action):
    rule = RULES[action]
    every_relation = frozenset(Relation)
    expected = action in COORDINATOR_ACTIONS
    assert rule.allows(Role.COORDINATOR, every_relation) is expected


def test_the_territory_is_the_coordinator_s_alone_the_statistics_also_the_managers():
    assert RULES[Action.TERRITORY_READ].roles == {Role.COORDINATOR}
    assert RULES[Action.STATISTICS_READ].roles == {Role.MANAGER, Role.COORDINATOR}
    assert "coordinateurs territoriaux" in RULES[Action.TERRITORY_READ].refusal_for(Role.MANAGER)


@pytest.fixture
def territory(db):
    """Two areas: Lens (a France Travail agency, a SIAE) and Béthune (a Mission locale); a
    coordinator of the département (itself in a third area) covering Lens only."""
    lens = EmploymentAreaFactory(code="6210", name="Lens – Hénin")
    bethune = EmploymentAreaFactory(code="6220", name="Béthune – Bruay")
    elsewhere = EmploymentAreaFactory(code="6230", name="Arras")
    ft = OrganisationFactory(name="France Travail Lens", employment_area=lens)
    siae = OrganisationFactory(name="Chantier Les Jardins", siae=True, employment_area=lens)
    ml = OrganisationFactory(name="Mission locale Béthune", employment_area=bethune)
    cd = OrganisationFactory(name="Département du Pas-de-Calais", employment_area=elsewhere)
    coordinator = MembershipFactory(organisation=cd, role=Role.COORDINATOR)
    coordinator.employment_areas.set([lens])
    manager = MembershipFactory(organisation=ft, role=Role.MANAGER)
    return {
        "lens": lens,
        "bethune": bethune,
        "ft": ft,
        "siae": siae,
        "ml": ml,
        "cd": cd,
        "coordinator": coordinator,
        "manager": manager,
    }


def _actor(membership: Membership) -> Actor:
    return actor_for(membership.user, membership.organisation_id)


def test_a_coordinator_reads_the_figures_of_every_partner_of_their_areas(territory):
    coordinator = _actor(territory["coordinator"])
    assert access.coordinated_area_ids(coordinator) == {territory["lens"].pk}
    assert access.can_read_territory(coordinator)
    assert access.can_read_statistics(coordinator)
    organisations = set(access.statistics_organisations_for(coordinator))
    # Both partners of Lens, not the Mission locale of Béthune, not their own département.
    assert organisations == {territory["ft"], territory["siae"]}


def test_a_second_area_widens_the_coordinator_s_partners(territory):
    territory["coordinator"].employment_areas.add(territory["bethune"])
    coordinator = _actor(territory["coordinator"])
    assert set(access.statistics_organisations_for(coordinator)) == {
        territory["ft"],
        territory["siae"],
        territory["ml"],
    }


def test_a_coordinator_without_areas_reads_nothing(territory):
    territory["coordinator"].employment_areas.clear()
    coordinator = _actor(territory["coordinator"])
    assert access.coordinated_area_ids(coordinator) == frozenset()
    assert not access.statistics_organisations_for(coordinator).exists()


def test_an_inactive_coordinator_membership_covers_no_area(territory):
    membership = territory["coordinator"]
    actor = Actor(user=membership.user, organisation=membership.organisation, role=membership.role)
    Membership.objects.filter(pk=membership.pk).update(is_active=False)
    assert access.coordinated_area_ids(actor) == frozenset()


def test_a_manager_keeps_their_own_organisation_and_coordinates_nothing(territory):
    manager = _actor(territory["manager"])
    assert access.coordinated_area_ids(manager) == frozenset()
    assert not access.can_read_territory(manager)
    assert list(access.statistics_organisations_for(manager)) == [territory["ft"]]


def test_areas_left_on_a_membership_whose_role_changed_do_not_count(territory):
    """Only the table's role decides: a former coordinator turned manager reads their own
    organisation, whatever rows the many-to-many still holds."""
    membership = territory["coordinator"]
    Membership.objects.filter(pk=membership.pk).update(role=Role.MANAGER)
    actor = _actor(membership)
    assert access.coordinated_area_ids(actor) == frozenset()
    assert list(access.statistics_organisations_for(actor)) == [territory["cd"]]


@pytest.mark.parametrize("role", sorted(set(Role.values) - {Role.COORDINATOR}))
def test_other_roles_read_no_territory(territory, role):
    membership = MembershipFactory(organisation=territory["ft"], role=role)
    actor = _actor(membership)
    assert access.coordinated_area_ids(actor) == frozenset()
    statistics = set(access.statistics_organisations_for(actor))
    assert statistics == ({territory["ft"]} if role == Role.MANAGER else set())


def test_the_coordinator_s_areas_are_read_once_per_request(territory, django_assert_num_queries):
    coordinator = _actor(territory["coordinator"])
    with request_memo(), django_assert_num_queries(1):
        for _ in range(3):
            assert access.coordinated_area_ids(coordinator) == {territory["lens"].pk}


def test_a_manager_s_actor_asks_nothing_for_areas(territory, django_assert_num_queries):
    manager = _actor(territory["manager"])
    with django_assert_num_queries(0):
        assert access.coordinated_area_ids(manager) == frozenset()


def test_areas_are_refused_on_a_membership_that_does_not_coordinate(territory):
    manager = territory["manager"]
    with pytest.raises(ValidationError) as refused:
        manager.check_employment_areas([territory["lens"]])
    assert "Seul un coordinateur territorial" in str(refused.value)
    manager.check_employment_areas([])  # no area: nothing to refuse
    territory["coordinator"].check_employment_areas([territory["lens"], territory["bethune"]])


def test_the_admin_sets_a_coordinator_s_areas_and_refuses_them_on_a_manager(territory, client):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    user = UserFactory()
    data = {
        "user": user.pk,
        "organisation": territory["cd"].pk,
        "role": Role.MANAGER,
        "is_active": "on",
        "employment_areas": [territory["lens"].pk],
    }
    refused = client.post("/admin/parcours/membership/add/", data)
    assert refused.status_code == 200
    assert "Seul un coordinateur territorial couvre des bassins" in refused.content.decode()
    assert not Membership.objects.filter(user=user).exists()

    accepted = client.post("/admin/parcours/membership/add/", {**data, "role": Role.COORDINATOR})
    assert accepted.status_code == 302
    membership = Membership.objects.get(user=user)
    assert set(membership.employment_areas.all()) == {territory["lens"]}
