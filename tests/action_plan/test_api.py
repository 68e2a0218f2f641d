"""The action plan in the API: read with the pathway category (journaled), every field in the
categories' field maps, a partner reports on the action it holds, bounded queries."""

import pytest
from rest_framework.test import APIClient

from parcours.categories import OBJECTIVE_FIELDS, PLAN_ACTION_FIELDS
from parcours.models import AccessEvent, PlanActionStatus, Role

from ..factories import MembershipFactory, PlanActionFactory

pytestmark = pytest.mark.django_db


def api_of(world, org: str, role: str = Role.COUNSELLOR) -> APIClient:
    client = APIClient()
    client.force_authenticate(MembershipFactory(organisation=world.orgs[org], role=role).user)
    return client


def test_the_plan_is_read_with_its_actions_and_journaled(plan_world):
    w = plan_world
    response = api_of(w, "receiver").get("/api/v1/objectives/", {"pathway": w.pathway.pk})
    assert response.status_code == 200
    (objective,) = response.json()["results"]
    assert set(objective) == set(OBJECTIVE_FIELDS)
    (action,) = objective["actions"]
    assert set(action) == set(PLAN_ACTION_FIELDS)
    assert action["owner_organisation"] == w.orgs["receiver"].pk and action["overdue"] is False
    row = AccessEvent.objects.filter(object_type="objective").get()
    assert (row.operation, row.object_ids, row.categories) == (
        "list",
        [w.objective.pk],
        ["pathway"],
    )
    assert row.detail == {"door": "api", "action": "plan.read"}
    assert api_of(w, "stranger").get(f"/api/v1/objectives/{w.objective.pk}/").status_code == 404


def test_the_holder_reports_on_its_action_through_the_api(plan_world):
    w = plan_world
    url = f"/api/v1/plan-actions/{w.plan_action.pk}/status/"
    response = api_of(w, "other_receiver").post(url, {"status": "done"}, format="json")
    assert response.status_code == 403
    assert "celle qui porte cette action" in response.json()["detail"]
    response = api_of(w, "receiver").post(url, {"status": "in_progress"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == PlanActionStatus.IN_PROGRESS


def test_listing_plans_costs_the_same_whatever_their_size(
    plan_world, django_assert_max_num_queries
):
    w = plan_world
    client = api_of(w, "owner")
    client.get("/api/v1/objectives/")  # warm the permission cache
    for _ in range(10):
        PlanActionFactory(objective__pathway=w.pathway)
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/objectives/")
    assert len(response.json()["results"]) == 11
