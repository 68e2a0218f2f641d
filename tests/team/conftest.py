"""The receiving team's world: France Travail orients Léa Martin to a Mission locale, whose
counsellors, social worker, manager, DPO and administrator stand ready — and those who may not
be handed the referral (a counsellor who left, a deactivated account, France Travail's own)."""

from dataclasses import dataclass

import pytest

from parcours.actor import Actor
from parcours.models import Membership, Organisation, Pathway, Referral, Role
from tests.factories import (
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    UserFactory,
)


@dataclass
class TeamWorld:
    ft: Organisation  # holds Léa's pathway and sends the referral
    ml: Organisation  # receives it
    ccas: Organisation  # unrelated to Léa
    pathway: Pathway
    referral: Referral  # sent, nobody in charge yet
    ft_counsellor: Actor
    ml_counsellor: Actor  # Inès Moreau
    ml_colleague: Actor  # Karim Benali
    ml_social_worker: Actor
    ml_manager: Actor
    left: Membership  # a counsellor who left the Mission locale (membership inactive)
    deactivated: Membership  # a counsellor whose account is deactivated

    def actor(self, org: str, role: str = Role.COUNSELLOR) -> Actor:
        organisation = getattr(self, org)
        membership = MembershipFactory(organisation=organisation, role=role)
        return Actor(user=membership.user, organisation=organisation, role=role)

    def received(self, **state) -> Referral:
        """Another person's referral from France Travail to the Mission locale, in the state
        given by a factory trait."""
        pathway = PathwayFactory(owner_organisation=self.ft)
        return ReferralFactory(
            pathway=pathway,
            sender_user=self.ft_counsellor.user,
            receiver_organisation=self.ml,
            **state,
        )


def _member(organisation, role, **user) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role, user=UserFactory(**user))
    return Actor(user=membership.user, organisation=organisation, role=role)


def build_team_world() -> TeamWorld:
    ft = OrganisationFactory(name="France Travail Lens")
    ml = OrganisationFactory(mission_locale=True, name="Mission locale de Lens")
    ccas = OrganisationFactory(kind="ccas", name="CCAS d'Arras")
    ft_counsellor = _member(ft, Role.COUNSELLOR, first_name="Paul", last_name="Durand")
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=ft, referent=ft_counsellor.user)
    # Léa agreed that the Mission locale see her contact details too; France Travail shared
    # only what a referral always carries (identity, pathway).
    ConsentFactory(person=person, organisations=[ml], categories=["contact"])
    referral = ReferralFactory(
        pathway=pathway, sender_user=ft_counsellor.user, receiver_organisation=ml, sent=True
    )
    left = MembershipFactory(organisation=ml, is_active=False)
    deactivated = MembershipFactory(organisation=ml, user=UserFactory(is_active=False))
    return TeamWorld(
        ft=ft,
        ml=ml,
        ccas=ccas,
        pathway=pathway,
        referral=referral,
        ft_counsellor=ft_counsellor,
        ml_counsellor=_member(ml, Role.COUNSELLOR, first_name="Inès", last_name="Moreau"),
        ml_colleague=_member(ml, Role.COUNSELLOR, first_name="Karim", last_name="Benali"),
        ml_social_worker=_member(ml, Role.SOCIAL_WORKER, first_name="Zoé", last_name="Petit"),
        ml_manager=_member(ml, Role.MANAGER, first_name="Hélène", last_name="Roux"),
        left=left,
        deactivated=deactivated,
    )


@pytest.fixture
def team(db) -> TeamWorld:
    return build_team_world()
