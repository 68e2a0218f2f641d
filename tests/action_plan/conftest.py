"""A pathway and the organisations that stand to it in every way the gate distinguishes."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from parcours.actor import Actor
from parcours.models import Objective, Organisation, Pathway, PlanAction, Role
from parcours.rules import Relation
from tests.factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
)

# The organisations of the plan's world, by the relations the gate sees them with.
RELATIONS: dict[str, frozenset[Relation]] = {
    "owner": frozenset({Relation.OWNER}),
    "referent": frozenset({Relation.REFERENT}),
    "care_team": frozenset({Relation.CARE_TEAM}),
    "receiver": frozenset({Relation.RECEIVER}),  # the action of the world is given to it
    "other_receiver": frozenset({Relation.RECEIVER}),
    "stranger": frozenset(),
}
ACTION_HOLDER = "receiver"


@dataclass
class PlanWorld:
    orgs: dict[str, Organisation]
    pathway: Pathway
    objective: Objective
    plan_action: PlanAction

    def actor(self, org: str, role: str = Role.COUNSELLOR) -> Actor:
        membership = MembershipFactory(organisation=self.orgs[org], role=role)
        return Actor(user=membership.user, organisation=self.orgs[org], role=role)


def in_days(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def build_plan_world() -> PlanWorld:
    orgs = {
        "owner": OrganisationFactory(name="France Travail Lens"),
        "referent": OrganisationFactory(name="Département du Pas-de-Calais", kind="departement"),
        "care_team": OrganisationFactory(name="CCAS de Lens"),
        "receiver": OrganisationFactory(siae=True, name="Chantier Les Jardins"),
        "other_receiver": OrganisationFactory(siae=True, name="Atelier Vélo"),
        "stranger": OrganisationFactory(mission_locale=True, name="Mission locale Arras"),
    }
    person = PersonFactory(first_name="Léa", last_name="Martin")
    counsellor = MembershipFactory(organisation=orgs["referent"]).user
    pathway = PathwayFactory(
        person=person,
        owner_organisation=orgs["owner"],
        referent=counsellor,
        referent_organisation=orgs["referent"],
    )
    CareTeamMemberFactory(pathway=pathway, organisation=orgs["care_team"])
    ConsentFactory(person=person, organisations=[orgs["care_team"]])
    ReferralFactory(pathway=pathway, receiver_organisation=orgs["receiver"], sent=True)
    ReferralFactory(pathway=pathway, receiver_organisation=orgs["other_receiver"], sent=True)
    author = MembershipFactory(organisation=orgs["owner"]).user
    now = timezone.now()
    objective = Objective.objects.create(
        pathway=pathway,
        title="Trouver un logement",
        created_at=now,
        created_by=author,
        created_by_organisation=orgs["owner"],
    )
    plan_action = PlanAction.objects.create(
        objective=objective,
        pathway=pathway,
        label="Visite d'un logement passerelle",
        owner_organisation=orgs[ACTION_HOLDER],
        due_on=in_days(10),
        created_at=now,
        created_by=author,
        created_by_organisation=orgs["owner"],
    )
    return PlanWorld(orgs, pathway, objective, plan_action)


@pytest.fixture
def plan_world(db) -> PlanWorld:
    return build_plan_world()
