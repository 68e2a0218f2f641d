"""The action plan's services, table-driven from the gate's table: every role × every relation
to the pathway × every write — allowed ones succeed (journaled, historied, on the timeline),
others are refused (403, journaled) or not found (404, like a missing record)."""

import copy
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.utils import timezone

from parcours.errors import Archived, Conflict, InvalidInput, NotAllowed
from parcours.gate import Action
from parcours.gate.context import Door, door
from parcours.models import (
    OBJECTIVE_MOVES,
    PLAN_ACTION_MOVES,
    AccessEvent,
    EventKind,
    Objective,
    ObjectiveStatus,
    PathwayEvent,
    PlanAction,
    PlanActionStatus,
    Role,
)
from parcours.rules import RULES, Relation, role_categories
from parcours.selectors.action_plan import overdue_actions_for, owner_candidates
from parcours.services import action_plan as plan_services
from tests.worlds import built_once

from .conftest import ACTION_HOLDER, RELATIONS, build_plan_world, in_days

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def world_template(django_db_setup, django_db_blocker):
    """The plan's world built once for the module (tests/worlds.py): ~170 cases of the table
    each built it again (six organisations, two referrals sent and their grants)."""
    with built_once(django_db_blocker):
        yield build_plan_world()


@pytest.fixture
def plan_world(world_template, db):
    """Each test's own copy of the world, its writes rolled back after it."""
    return copy.deepcopy(world_template)


WRITES = (
    Action.PLAN_OBJECTIVE_ADD,
    Action.PLAN_OBJECTIVE_SET_STATUS,
    Action.PLAN_ACTION_ADD,
    Action.PLAN_ACTION_SET_STATUS,
)
OBJECT_TYPE = {
    Action.PLAN_OBJECTIVE_ADD: "objective",
    Action.PLAN_OBJECTIVE_SET_STATUS: "objective",
    Action.PLAN_ACTION_ADD: "plan_action",
    Action.PLAN_ACTION_SET_STATUS: "plan_action",
}


def _call(action, actor, w):
    if action == Action.PLAN_OBJECTIVE_ADD:
        return plan_services.objective_add(
            actor=actor, pathway_id=w.pathway.pk, title="Passer le permis B"
        )
    if action == Action.PLAN_OBJECTIVE_SET_STATUS:
        return plan_services.objective_set_status(
            actor=actor, objective_id=w.objective.pk, status=ObjectiveStatus.ACHIEVED
        )
    if action == Action.PLAN_ACTION_ADD:
        return plan_services.plan_action_add(
            actor=actor,
            objective_id=w.objective.pk,
            label="Inscription à l'auto-école sociale",
            owner_organisation_id=w.orgs["care_team"].pk,
            due_on=in_days(30),
        )
    return plan_services.plan_action_set_status(
        actor=actor, plan_action_id=w.plan_action.pk, status=PlanActionStatus.DONE
    )


def _expected(action, org: str, role: str) -> str:
    """From the table: what the gate answers this organisation in this role."""
    if "pathway" not in role_categories(role) or org == "stranger":
        return "not_found"
    relations = set(RELATIONS[org])
    if action == Action.PLAN_ACTION_SET_STATUS and org == ACTION_HOLDER:
        relations.add(Relation.ACTION_OWNER)
    return "ok" if RULES[action].allows(role, relations) else "not_allowed"


CASES = [
    (action, org, role)
    for action in WRITES
    for org in RELATIONS
    for role in Role.values
    if role != Role.NATIONAL_DPO or org == "owner"  # a national DPO sees no content anywhere
]


@pytest.mark.parametrize(("action", "org", "role"), CASES, ids=lambda v: str(v))
def test_every_role_and_relation_gets_what_the_table_says(plan_world, action, org, role):
    w = plan_world
    actor = w.actor(org, role)
    expected = _expected(action, org, role)
    before = AccessEvent.objects.count()
    with door(Door.COMMAND):
        if expected == "ok":
            result = _call(action, actor, w)
        else:
            with pytest.raises(NotAllowed if expected == "not_allowed" else Exception) as caught:
                _call(action, actor, w)
            if expected == "not_found":
                assert isinstance(caught.value, ObjectDoesNotExist)
            assert type(caught.value) is not InvalidInput
    rows = list(AccessEvent.objects.order_by("id")[before:])
    if expected == "ok":
        (row,) = rows
        assert (row.operation, row.object_type, row.object_id) == (
            "write",
            OBJECT_TYPE[action],
            result.pk,
        )
        assert row.categories == ["pathway"]
        assert row.detail["action"] == str(action)
        assert row.person_id == w.pathway.person_id
        assert result.history.first().history_user == actor.user
        assert PathwayEvent.objects.filter(
            pathway=w.pathway, kind__in=[EventKind.PLAN_OBJECTIVE, EventKind.PLAN_ACTION]
        ).exists()
    elif expected == "not_allowed":
        (row,) = rows
        assert row.operation == "denied"
        assert row.detail == {"door": "command", "action": str(action), "refusal": "not_allowed"}
        assert row.person_id == w.pathway.person_id
    else:
        # The record exists: the probe is journaled as not found (for a role that reads
        # nothing, too); never a 403 that would tell the record is followed elsewhere.
        assert [r.detail.get("refusal") for r in rows] == ["not_found"]


def test_the_table_lets_the_holder_of_an_action_report_on_it_and_nothing_more():
    holder = {Relation.RECEIVER, Relation.ACTION_OWNER}
    assert RULES[Action.PLAN_ACTION_SET_STATUS].allows(Role.COUNSELLOR, holder)
    for action in (Action.PLAN_OBJECTIVE_ADD, Action.PLAN_ACTION_ADD):
        assert not RULES[action].allows(Role.COUNSELLOR, holder)
    for action in WRITES:  # managers steer, they do not write the person's plan
        assert not RULES[action].allows(Role.MANAGER, {Relation.OWNER})


# --- validation --------------------------------------------------------------------------------


def _add(w, actor, **overrides):
    arguments = dict(
        actor=actor,
        objective_id=w.objective.pk,
        label="Rendez-vous à la CAF",
        owner_organisation_id=w.orgs["receiver"].pk,
        due_on=in_days(7),
    )
    with door(Door.COMMAND):
        return plan_services.plan_action_add(**(arguments | overrides))


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"due_on": in_days(-1)}, "due_on", "passée"),
        ({"due_on": in_days(800)}, "due_on", "deux ans"),
        ({"due_on": None}, "due_on", "échéance"),
        ({"label": "   "}, "label", "obligatoire"),
        ({"label": "x" * 301}, "label", "300 caractères au plus"),
        ({"owner_organisation_id": 0}, "owner_organisation", "travaille sur ce parcours"),
    ],
)
def test_bad_input_is_a_french_field_error(plan_world, overrides, field, words):
    actor = plan_world.actor("owner")
    with pytest.raises(InvalidInput) as caught:
        _add(plan_world, actor, **overrides)
    assert words in " ".join(caught.value.fields[field])


def test_an_action_is_given_only_to_an_organisation_that_sees_the_plan(plan_world):
    w = plan_world
    candidates = {o.pk for o in owner_candidates(w.pathway)}
    assert candidates == {w.orgs[k].pk for k in RELATIONS if k != "stranger"}
    with pytest.raises(InvalidInput) as caught:
        _add(w, w.actor("owner"), owner_organisation_id=w.orgs["stranger"].pk)
    assert set(caught.value.fields) == {"owner_organisation"}


def test_today_is_a_valid_due_date_and_so_is_two_years_ahead(plan_world):
    actor = plan_world.actor("owner")
    assert _add(plan_world, actor, due_on=timezone.localdate()).due_on == timezone.localdate()
    assert plan_services.due_date_problem(in_days(720)) == ""


def test_an_objective_achieved_takes_no_new_action(plan_world):
    actor = plan_world.actor("owner")
    with door(Door.COMMAND):
        plan_services.objective_set_status(
            actor=actor, objective_id=plan_world.objective.pk, status=ObjectiveStatus.ACHIEVED
        )
    with pytest.raises(Conflict, match="atteint"):
        _add(plan_world, actor)


def test_a_title_is_required_and_bounded(plan_world):
    actor = plan_world.actor("owner")
    for title, words in (("", "obligatoire"), ("y" * 201, "200 caractères")):
        with pytest.raises(InvalidInput) as caught:
            plan_services.objective_add(actor=actor, pathway_id=plan_world.pathway.pk, title=title)
        assert words in caught.value.fields["title"][0]


# --- the moves, as data ------------------------------------------------------------------------


@pytest.mark.parametrize("start", PlanActionStatus.values)
@pytest.mark.parametrize("to", PlanActionStatus.values)
def test_every_action_move_of_the_table_and_no_other(plan_world, start, to):
    w = plan_world
    PlanAction.objects.filter(pk=w.plan_action.pk).update(
        status=start, done_at=timezone.now() if start == PlanActionStatus.DONE else None
    )
    actor = w.actor("owner")
    with door(Door.COMMAND):
        if to in PLAN_ACTION_MOVES[start]:
            moved = plan_services.plan_action_set_status(
                actor=actor, plan_action_id=w.plan_action.pk, status=to
            )
            assert moved.status == to
            assert (moved.done_at is not None) == (to == PlanActionStatus.DONE)
        else:
            with pytest.raises(Conflict):
                plan_services.plan_action_set_status(
                    actor=actor, plan_action_id=w.plan_action.pk, status=to
                )


@pytest.mark.parametrize("start", ObjectiveStatus.values)
@pytest.mark.parametrize("to", ObjectiveStatus.values)
def test_every_objective_move_of_the_table_and_no_other(plan_world, start, to):
    w = plan_world
    Objective.objects.filter(pk=w.objective.pk).update(
        status=start, closed_at=None if start == ObjectiveStatus.OPEN else timezone.now()
    )
    actor = w.actor("referent")
    with door(Door.COMMAND):
        if to in OBJECTIVE_MOVES[start]:
            moved = plan_services.objective_set_status(
                actor=actor, objective_id=w.objective.pk, status=to
            )
            assert (moved.closed_at is None) == (to == ObjectiveStatus.OPEN)
        else:
            with pytest.raises(Conflict):
                plan_services.objective_set_status(
                    actor=actor, objective_id=w.objective.pk, status=to
                )


def test_an_unknown_status_is_a_field_error(plan_world):
    with pytest.raises(InvalidInput) as caught:
        plan_services.plan_action_set_status(
            actor=plan_world.actor("owner"), plan_action_id=plan_world.plan_action.pk, status="x"
        )
    assert caught.value.fields == {"status": ["Choix invalide."]}


def test_a_closed_or_archived_pathway_keeps_its_plan_as_it_was(plan_world):
    w = plan_world
    actor = w.actor("owner")
    type(w.pathway).objects.filter(pk=w.pathway.pk).update(archived_at=timezone.now())
    with pytest.raises(Archived):
        plan_services.objective_add(actor=actor, pathway_id=w.pathway.pk, title="Formation")
    type(w.pathway).objects.filter(pk=w.pathway.pk).update(
        archived_at=None, status="closed", closed_at=timezone.now(), outcome="job"
    )
    with pytest.raises(Conflict, match="clôturé"):
        plan_services.plan_action_set_status(
            actor=actor, plan_action_id=w.plan_action.pk, status=PlanActionStatus.DONE
        )


# --- the database's own guards -----------------------------------------------------------------


def test_done_and_its_date_go_together_in_the_database(plan_world):
    for status, done_at in (("done", None), ("todo", timezone.now())):
        with pytest.raises(IntegrityError, match="plan_action_done_has_date"), transaction.atomic():
            PlanAction.objects.filter(pk=plan_world.plan_action.pk).update(
                status=status, done_at=done_at
            )


def test_a_closed_objective_has_its_date_in_the_database(plan_world):
    with pytest.raises(IntegrityError, match="objective_closed_has_date"), transaction.atomic():
        Objective.objects.filter(pk=plan_world.objective.pk).update(status="achieved")


# --- « À traiter »: the overdue actions an organisation holds ------------------------------------


def test_overdue_actions_are_the_holders_open_ones_past_their_day(plan_world):
    w = plan_world
    holder = w.actor("receiver")
    assert list(overdue_actions_for(holder)) == []
    # 10 days later (Europe/Paris), plus one: the action is overdue for its holder alone.
    with time_machine.travel(timezone.now() + dt.timedelta(days=11)):
        assert list(overdue_actions_for(holder)) == [w.plan_action]
        for other in ("owner", "referent", "care_team", "other_receiver", "stranger"):
            assert list(overdue_actions_for(w.actor(other))) == []
        assert list(overdue_actions_for(w.actor("receiver", Role.DPO))) == []
        with door(Door.COMMAND):
            plan_services.plan_action_set_status(
                actor=holder, plan_action_id=w.plan_action.pk, status=PlanActionStatus.DONE
            )
        assert list(overdue_actions_for(holder)) == []


def test_due_today_in_paris_is_not_overdue_yet(plan_world):
    w = plan_world
    PlanAction.objects.filter(pk=w.plan_action.pk).update(due_on=dt.date(2026, 3, 1))
    # 23:30 UTC on 28 February is already 1 March in Paris: due today, not overdue.
    with time_machine.travel(dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.UTC), tick=False):
        assert list(overdue_actions_for(w.actor("receiver"))) == []
    with time_machine.travel(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), tick=False):
        assert list(overdue_actions_for(w.actor("receiver"))) == [w.plan_action]
