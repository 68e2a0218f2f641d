"""The action plan in the pages: the person page's section, the forms (French errors, values
kept), the status buttons where the gate's table allows them, « À traiter », bounded queries."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from parcours.models import AccessEvent, Objective, PlanAction, PlanActionStatus, Role

from ..factories import MembershipFactory
from .conftest import in_days

pytestmark = pytest.mark.django_db


def client_of(world, org: str, role: str = Role.COUNSELLOR) -> Client:
    client = Client()
    client.force_login(MembershipFactory(organisation=world.orgs[org], role=role).user)
    return client


def _page(client, world) -> str:
    response = client.get(reverse("web:person-detail", args=[world.pathway.person_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_follower_adds_an_objective_then_an_action_held_by_a_partner(plan_world):
    w = plan_world
    client = client_of(w, "referent")
    page = _page(client, w)
    assert "Plan d'action" in page and "Trouver un logement" in page
    assert reverse("web:plan-objective-add", args=[w.pathway.pk]) in page
    response = client.post(
        reverse("web:plan-objective-add", args=[w.pathway.pk]), {"title": "Passer le permis B"}
    )
    assert response.status_code == 302
    objective = Objective.objects.exclude(pk=w.objective.pk).get()
    assert objective.title == "Passer le permis B"
    form = client.get(reverse("web:plan-action-add", args=[objective.pk])).content.decode()
    # The holder is picked among the organisations working on the pathway, never the directory.
    assert "Chantier Les Jardins" in form and "Mission locale Arras" not in form
    response = client.post(
        reverse("web:plan-action-add", args=[objective.pk]),
        {
            "label": "Inscription à l'auto-école sociale",
            "owner_organisation": w.orgs["receiver"].pk,
            "due_on": in_days(14).isoformat(),
        },
    )
    assert response.status_code == 302
    action = PlanAction.objects.get(objective=objective)
    assert action.owner_organisation == w.orgs["receiver"]
    write = AccessEvent.objects.filter(operation="write", object_type="plan_action").get()
    assert write.detail == {"door": "page", "action": "plan.action_add"}


def test_wrong_input_is_said_in_french_with_what_was_typed_kept(plan_world):
    w = plan_world
    client = client_of(w, "owner")
    url = reverse("web:plan-action-add", args=[w.objective.pk])
    past = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    response = client.post(
        url,
        {"label": "Atelier CV", "owner_organisation": w.orgs["care_team"].pk, "due_on": past},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "L&#x27;échéance ne peut pas être passée" in html
    assert 'value="Atelier CV"' in html and f'value="{past}"' in html
    response = client.post(url, {"label": "", "owner_organisation": "", "due_on": "31/02/2026"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ce champ est obligatoire." in html and 'value="31/02/2026"' in html
    response = client.post(
        url,
        {"label": "Atelier", "owner_organisation": w.orgs["stranger"].pk, "due_on": past},
    )
    assert response.status_code == 400  # not one of the choices: the field's French error
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not PlanAction.objects.exclude(pk=w.plan_action.pk).exists()


def test_the_holder_of_an_action_marks_it_done_and_nothing_else(plan_world):
    w = plan_world
    client = client_of(w, "receiver")
    page = _page(client, w)
    status_url = reverse("web:plan-action-status", args=[w.plan_action.pk])
    assert status_url in page and "Marquer comme faite" in page
    assert reverse("web:plan-objective-add", args=[w.pathway.pk]) not in page
    assert reverse("web:plan-action-add", args=[w.objective.pk]) not in page
    response = client.post(status_url, {"status": PlanActionStatus.DONE})
    assert response.status_code == 302
    w.plan_action.refresh_from_db()
    assert w.plan_action.status == PlanActionStatus.DONE and w.plan_action.done_at
    # Another receiver sees the plan, without the holder's buttons; its POST is refused.
    other = client_of(w, "other_receiver")
    assert status_url not in _page(other, w)
    assert other.post(status_url, {"status": "in_progress"}).status_code == 403
    assert other.get(reverse("web:plan-objective-add", args=[w.pathway.pk])).status_code == 403


def test_a_manager_reads_the_plan_without_buttons_and_a_stranger_finds_nothing(plan_world):
    w = plan_world
    manager = client_of(w, "owner", Role.MANAGER)
    response = manager.get(reverse("web:plan-objective-add", args=[w.pathway.pk]))
    assert response.status_code == 403
    assert "tiennent le plan d" in response.content.decode()
    stranger = client_of(w, "stranger")
    for url in (
        reverse("web:plan-objective-add", args=[w.pathway.pk]),
        reverse("web:plan-action-add", args=[w.objective.pk]),
    ):
        assert stranger.get(url).status_code == 404
    assert (
        stranger.post(
            reverse("web:plan-action-status", args=[w.plan_action.pk]), {"status": "done"}
        ).status_code
        == 404
    )


def test_a_move_the_state_refuses_is_a_message_not_an_error_page(plan_world):
    w = plan_world
    client = client_of(w, "owner")
    url = reverse("web:plan-action-status", args=[w.plan_action.pk])
    response = client.post(url, {"status": "todo"}, follow=True)
    assert response.status_code == 200
    assert "L&#x27;action est déjà à l&#x27;état « À faire »." in response.content.decode()
    response = client.post(url, {"status": "nonsense"}, follow=True)
    assert "Statut inconnu." in response.content.decode()


def test_overdue_actions_are_marked_and_listed_on_the_holders_home(plan_world):
    w = plan_world
    client = client_of(w, "receiver")
    home = client.get(reverse("web:home")).content.decode()
    assert "Actions en retard : 0" in home
    # Twelve days later the action (due in ten) is overdue; a new day, a new session.
    with time_machine.travel(timezone.now() + dt.timedelta(days=12)):
        client = client_of(w, "receiver")
        home = client.get(reverse("web:home")).content.decode()
        assert "Actions en retard : 1" in home
        assert "Visite d&#x27;un logement passerelle" in home
        assert reverse("web:person-detail", args=[w.pathway.person_id]) in home
        row = AccessEvent.objects.filter(detail__action="plan_action.list").latest("id")
        assert row.object_ids == [w.plan_action.pk]
        assert "En retard" in _page(client, w)
        # The organisation that follows the pathway sees it late too; not on its « À traiter ».
        owner = client_of(w, "owner")
        assert "En retard" in _page(owner, w)
        assert "Actions en retard : 0" in owner.get(reverse("web:home")).content.decode()


def test_home_and_person_page_queries_do_not_grow_with_the_plan(
    plan_world, django_assert_max_num_queries
):
    w = plan_world
    author = MembershipFactory(organisation=w.orgs["owner"]).user
    for n in range(6):
        objective = Objective.objects.create(
            pathway=w.pathway,
            title=f"Objectif {n}",
            created_at=timezone.now(),
            created_by=author,
            created_by_organisation=w.orgs["owner"],
        )
        for m in range(3):
            PlanAction.objects.create(
                objective=objective,
                pathway=w.pathway,
                label=f"Action {n}.{m}",
                owner_organisation=w.orgs["receiver"],
                due_on=in_days(1 + m),
                created_at=timezone.now(),
                created_by=author,
                created_by_organisation=w.orgs["owner"],
            )
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        client = client_of(w, "receiver")
        client.get(reverse("web:home"))  # warm the session and the permission cache
        with django_assert_max_num_queries(27):
            assert client.get(reverse("web:home")).status_code == 200
        # The person page's fixed budget (tests/web/test_pages.py), whatever the plan's size:
        # one query fewer for a receiver than for the holder.
        with django_assert_max_num_queries(33):
            _page(client, w)
