"""A referral and everyone who stands to it in a way the gate distinguishes for its thread."""

from dataclasses import dataclass

import pytest

from parcours.actor import Actor
from parcours.models import Organisation, Pathway, Referral, Role
from tests.factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
)

TEXT = "Bonjour, Léa a-t-elle un moyen de transport pour venir au chantier ?"


def actor_of(organisation: Organisation, role: str = Role.COUNSELLOR) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role)
    return Actor(user=membership.user, organisation=organisation, role=role)


@dataclass
class ThreadWorld:
    """France Travail (its counsellor is Léa Martin's référent) sent Léa to an SIAE; a Mission
    locale is in her care team (it sees the referral, it is no party to it); a CCAS has nothing
    to do with her."""

    france_travail: Organisation
    siae: Organisation
    mission_locale: Organisation
    ccas: Organisation
    pathway: Pathway
    referral: Referral
    sender: Actor  # France Travail's counsellor, who sent the referral
    receiver: Actor  # the SIAE's counsellor
    receiver_colleague: Actor  # the SIAE's social worker
    manager: Actor  # France Travail's manager
    receiver_manager: Actor
    bystander: Actor  # the Mission locale's counsellor (care team)
    stranger: Actor  # the CCAS's counsellor
    dpo: Actor  # France Travail's DPO

    def referral_in(self, **state) -> Referral:
        """Another referral of Léa's pathway to another SIAE, in the state given by a trait."""
        siae = OrganisationFactory(siae=True)
        ConsentFactory(
            person=self.pathway.person, organisations=[siae], categories=["identity", "pathway"]
        )
        referral = ReferralFactory(
            pathway=self.pathway,
            sender_user=self.sender.user,
            receiver_organisation=siae,
            with_consent=False,
            **state,
        )
        referral.receiver = actor_of(siae)  # type: ignore[attr-defined]
        return referral


def build_thread_world() -> ThreadWorld:
    france_travail = OrganisationFactory(name="France Travail Lens")
    siae = OrganisationFactory(siae=True, name="Chantier Les Jardins")
    mission_locale = OrganisationFactory(mission_locale=True, name="Mission locale Lens")
    ccas = OrganisationFactory(name="CCAS d'Arras")
    sender = actor_of(france_travail)
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=france_travail, referent=sender.user)
    ConsentFactory(
        person=person,
        organisations=[siae, mission_locale],
        categories=["identity", "pathway"],
    )
    CareTeamMemberFactory(pathway=pathway, organisation=mission_locale)
    referral = ReferralFactory(
        pathway=pathway,
        sender_user=sender.user,
        receiver_organisation=siae,
        sent=True,
        with_consent=False,
    )
    return ThreadWorld(
        france_travail=france_travail,
        siae=siae,
        mission_locale=mission_locale,
        ccas=ccas,
        pathway=pathway,
        referral=referral,
        sender=sender,
        receiver=actor_of(siae),
        receiver_colleague=actor_of(siae, Role.SOCIAL_WORKER),
        manager=actor_of(france_travail, Role.MANAGER),
        receiver_manager=actor_of(siae, Role.MANAGER),
        bystander=actor_of(mission_locale),
        stranger=actor_of(ccas),
        dpo=actor_of(france_travail, Role.DPO),
    )


@pytest.fixture
def thread_world(db) -> ThreadWorld:
    return build_thread_world()
