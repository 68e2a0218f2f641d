"""A CCAS without accounts and the referrals France Travail sends it (issue 19)."""

from dataclasses import dataclass

import pytest

from parcours.actor import Actor
from parcours.models import Organisation, Pathway, ReceiverLink, Referral, Role
from parcours.services import referral as referral_services
from parcours.services.receiver_link import token_for
from tests.factories import (
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
)


def sender_actor(organisation: Organisation, role: str = Role.COUNSELLOR) -> Actor:
    membership = MembershipFactory(organisation=organisation, role=role)
    return Actor(user=membership.user, organisation=organisation, role=role)


def token_of(link: ReceiverLink) -> str:
    """The token of a link's URL, as its e-mail carries it (the field is encrypted in the
    database, clear once loaded)."""
    link.refresh_from_db()
    return link.mail_token


@dataclass
class LinkWorld:
    france_travail: Organisation
    ccas: Organisation
    sender: Actor
    pathway: Pathway

    def send(self, *, categories=("identity", "pathway"), person=None) -> Referral:
        pathway = self.pathway
        if person is not None:
            pathway = PathwayFactory(person=person, owner_organisation=self.france_travail)
            ConsentFactory(person=person, organisations=[self.ccas], categories=list(categories))
        return referral_services.referral_create(
            actor=self.sender,
            pathway_id=pathway.pk,
            receiver_organisation_id=self.ccas.pk,
            kind="upstream",
            reason="Lever les freins de logement avant la reprise d'emploi",
            context_note="Hébergée chez un tiers depuis trois mois",
        )


@pytest.fixture
def world(db) -> LinkWorld:
    france_travail = OrganisationFactory(name="France Travail Arras")
    ccas = OrganisationFactory(name="CCAS de Bapaume", contact_email="accueil@ccas-bapaume.fr")
    sender = sender_actor(france_travail)
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=france_travail)
    ConsentFactory(person=person, organisations=[ccas], categories=["identity", "pathway"])
    return LinkWorld(france_travail=france_travail, ccas=ccas, sender=sender, pathway=pathway)


__all__ = ["LinkWorld", "sender_actor", "token_for", "token_of"]
