from dataclasses import dataclass

import pytest

from parcours.actor import Actor
from parcours.models import Organisation, Pathway, Role
from parcours.services import pathway as pathway_services
from parcours.services import webhooks as webhook_services
from tests.factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    valid_nir,
)

from .receiver import Receiver

# Free text of the record that must never leave by a webhook, and what is outside the
# categories a message may carry (contact, social, health, justice).
NOTE = "Entretien : suivi psychiatrique en cours, sous main de justice"
SUMMARY = "Dettes importantes, hébergement chez un tiers"
PHONE = "0612345678"


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def subscribe(make_actor):
    """An administrator of `organisation` subscribes the receiver to `events` (all of them by
    default); the receiver learns the secret."""

    def build(organisation, receiver, events=None):
        admin = make_actor(organisation=organisation, role=Role.ADMIN)
        issued = webhook_services.webhook_subscription_create(
            actor=admin,
            url=receiver.url,
            description="Logiciel du partenaire",
            events=events or list(webhook_services.EVENTS),
        )
        receiver.secrets.append(issued.secret)
        return admin, issued

    return build


@dataclass
class PathwayWorld:
    """France Travail holds Léa Martin's pathway (its counsellor is the référent); an SIAE is on
    her care team with her consent to identity and pathway (its grants: those two)."""

    owner: Actor
    partner: Organisation
    pathway: Pathway

    def refresh(self) -> "PathwayWorld":
        self.pathway.refresh_from_db()
        return self


@pytest.fixture
def pathway_world(make_actor) -> PathwayWorld:
    owner = make_actor(name="France Travail Arras")
    partner = OrganisationFactory(siae=True, name="Chantier Les Jardins")
    person = PersonFactory(
        first_name="Léa",
        last_name="Martin",
        nir=valid_nir(4242),
        phone=PHONE,
        rqth=True,
        court_supervision=True,
    )
    pathway = PathwayFactory(
        person=person,
        owner_organisation=owner.organisation,
        referent=owner.user,
        diagnostic_summary=SUMMARY,
    )
    CareTeamMemberFactory(pathway=pathway, organisation=partner)
    ConsentFactory(person=person, organisations=[partner], categories=["identity", "pathway"])
    pathway_services.pathway_add_note(actor=owner, pathway_id=pathway.pk, kind="note", text=NOTE)
    return PathwayWorld(owner=owner, partner=partner, pathway=pathway)


from tests.notifications.conftest import journey  # noqa: E402, F401 (the referral journeys)
