"""A person followed by an association, with a CCAS in the care team whose access rests on
the person's consent alone (a CCAS has no legal basis of its own), and another person."""

import datetime as dt
from dataclasses import dataclass

from parcours.actor import Actor
from parcours.models import Consent, Organisation, Pathway, Person, Role
from tests.factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)

EMAIL = "ines.robert@exemple.fr"
BIRTH = dt.date(1994, 4, 2)


@dataclass
class World:
    person: Person
    pathway: Pathway
    owner: Actor
    ccas: Actor
    consent: Consent
    other_consent: Consent
    referral_receiver: Organisation


def build_world() -> World:
    owner_org = OrganisationFactory(name="Association Rebond")
    owner_member = MembershipFactory(organisation=owner_org, role=Role.COUNSELLOR)
    owner = Actor(user=owner_member.user, organisation=owner_org, role=Role.COUNSELLOR)
    person = Person.objects.create(
        first_name="Inès", last_name="Robert", birth_date=BIRTH, email=EMAIL
    )
    pathway = PathwayFactory(person=person, owner_organisation=owner_org)
    ccas_org = OrganisationFactory(name="CCAS de Lens", kind="ccas")
    ccas_member = MembershipFactory(
        organisation=ccas_org,
        role=Role.SOCIAL_WORKER,
        user__first_name="Sandrine",
        user__last_name="Vasseur",
    )
    ccas = Actor(user=ccas_member.user, organisation=ccas_org, role=Role.SOCIAL_WORKER)
    CareTeamMemberFactory(pathway=pathway, organisation=ccas_org)
    consent = ConsentFactory(
        person=person,
        organisations=[ccas_org],
        categories=["identity", "pathway", "social"],
        purpose="Accompagnement social et aide au logement",
        collected_by=owner.user,
        collected_by_organisation=owner_org,
    )
    referral = ReferralFactory(
        sent=True, pathway=pathway, sender_organisation=owner_org, sender_user=owner.user
    )
    other = PathwayFactory()
    other_consent = ConsentFactory(person=other.person, organisations=[ccas_org])
    return World(
        person=person,
        pathway=pathway,
        owner=owner,
        ccas=ccas,
        consent=consent,
        other_consent=other_consent,
        referral_receiver=referral.receiver_organisation,
    )
