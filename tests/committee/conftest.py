"""A case committee's world: one employment area, its partners, a pathway held by France
Travail (which holds `legal:spe` on it), a counsellor who proposes it, the coordinator of the
area (a member of the Conseil départemental), an SIAE invited without any basis on the pathway,
a Mission locale in the care team (its own basis), and a coordinator of another area."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from parcours.actor import Actor
from parcours.models import Organisation, Pathway, Role
from parcours.services import committee as services

from ..factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    EmploymentAreaFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
)


@dataclass
class CommitteeWorld:
    area: object
    holder: Organisation  # France Travail, owns the pathway
    siae: Organisation  # invited, no basis on the pathway
    care_team: Organisation  # a Mission locale in the care team
    pathway: Pathway
    proposer: Actor
    coordinator: Actor
    other_coordinator: Actor  # of another employment area
    siae_counsellor: Actor
    care_team_counsellor: Actor

    def consent(self, organisations=()):
        """The person's consent, collected by the holder (the committee's basis)."""
        return ConsentFactory(
            person=self.pathway.person,
            organisations=list(organisations) or [self.holder],
            purpose="Examen de sa situation en comité de parcours",
            collected_by=self.proposer.user,
            collected_by_organisation=self.holder,
        )

    def propose(self, **overrides):
        arguments = dict(
            actor=self.proposer,
            pathway_id=self.pathway.pk,
            reason="Aucune solution de mobilité depuis six mois",
            question="Quel partenaire peut financer le permis ?",
            summary="Personne motivée, sans véhicule, deux refus de formation faute de transport.",
            basis_kind="legal",
            legal_basis="legal:spe",
        )
        arguments.update(overrides)
        return services.committee_propose(**arguments)

    def session(self, attendees=()):
        return services.committee_create(
            actor=self.coordinator,
            employment_area_id=self.area.pk,
            meets_at=timezone.now() + dt.timedelta(days=7),
            place="Maison de l'emploi, salle 2",
            attendee_ids=[o.pk for o in attendees],
        )


def member(organisation, role=Role.COUNSELLOR, areas=()) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role)
    if areas:
        membership.employment_areas.set(areas)
    return Actor(user=membership.user, organisation=organisation, role=role)


@pytest.fixture
def world(db) -> CommitteeWorld:
    return make_world()


def make_world() -> CommitteeWorld:
    """The world, for a test that manages its database itself (the browser journey)."""
    area = EmploymentAreaFactory()
    elsewhere = EmploymentAreaFactory()
    holder = OrganisationFactory(employment_area=area, name="France Travail Lens")
    siae = OrganisationFactory(siae=True, employment_area=area, name="Chantier du Bassin")
    care_team = OrganisationFactory(
        mission_locale=True, employment_area=area, name="Mission locale de Lens"
    )
    council = OrganisationFactory(
        departement_council=True, employment_area=area, name="Département du Pas-de-Calais"
    )
    pathway = PathwayFactory(owner_organisation=holder)
    CareTeamMemberFactory(pathway=pathway, organisation=care_team)
    ConsentFactory(
        person=pathway.person,
        organisations=[care_team],
        categories=["identity", "pathway"],
        collected_by_organisation=holder,
    )
    return CommitteeWorld(
        area=area,
        holder=holder,
        siae=siae,
        care_team=care_team,
        pathway=pathway,
        proposer=member(holder),
        coordinator=member(council, Role.COORDINATOR, areas=[area]),
        other_coordinator=member(
            OrganisationFactory(departement_council=True, employment_area=elsewhere),
            Role.COORDINATOR,
            areas=[elsewhere],
        ),
        siae_counsellor=member(siae),
        care_team_counsellor=member(care_team),
    )
