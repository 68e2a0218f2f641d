"""Webhooks of the pathway's own events (issue 19): a change of référent, of support modality, a
closing — each written in the change's transaction for every active subscription that asked for
it, of every organisation whose own grant rows show the pathway's `pathway` category now; sent
signed to a real receiver on loopback that verifies the signature and validates the FHIR R4
`EpisodeOfCare` (fhir.resources R4B, whose EpisodeOfCare and Patient are R4's)."""

import pytest
from django.db import transaction

from parcours.gate.journal import WEBHOOK_PURPOSE
from parcours.models import (
    AccessEvent,
    EventKind,
    PathwayEvent,
    Role,
    WebhookDelivery,
)
from parcours.services import pathway as pathway_services
from parcours.services import webhooks as webhook_services
from parcours.services.webhook_delivery import webhooks_deliver
from tests.factories import CareTeamMemberFactory, ConsentFactory, OrganisationFactory

from .conftest import NOTE, PHONE, SUMMARY

pytestmark = pytest.mark.django_db

PATHWAY_EVENTS = ["pathway.referent_changed", "pathway.modality_changed", "pathway.closed"]


@pytest.fixture
def world(pathway_world):
    """Léa Martin's pathway at France Travail, an SIAE on her care team (conftest)."""
    return pathway_world


def _episode(got) -> dict:
    assert got.verified_with, got.refusals
    assert got.fhir_error == ""
    episode = got.payload["data"]
    assert episode["resourceType"] == "EpisodeOfCare"
    return episode


def test_each_pathway_event_has_a_french_label_after_the_referral_ones():
    assert list(webhook_services.PATHWAY_EVENTS) == PATHWAY_EVENTS
    referral_then_pathway = (*webhook_services.REFERRAL_EVENTS, *webhook_services.PATHWAY_EVENTS)
    assert referral_then_pathway == webhook_services.EVENTS
    assert [webhook_services.event_label(e) for e in PATHWAY_EVENTS] == [
        "Référent du parcours changé",
        "Modalité d'accompagnement changée",
        "Parcours clôturé",
    ]
    assert set(webhook_services.EVENT_OF_PATHWAY_KIND.values()) == set(PATHWAY_EVENTS)


def test_each_pathway_event_reaches_a_partner_that_sees_the_pathway_as_an_episode_of_care(
    world, receiver, subscribe, make_actor
):
    subscribe(world.partner, receiver, events=PATHWAY_EVENTS)
    colleague = make_actor(organisation=world.owner.organisation)
    pathway_id = world.pathway.pk

    pathway_services.pathway_set_referent(
        actor=world.owner, pathway_id=pathway_id, referent_id=colleague.user.pk
    )
    pathway_services.pathway_set_modality(
        actor=world.owner, pathway_id=pathway_id, modality="renforce"
    )
    pathway_services.pathway_close(actor=world.owner, pathway_id=pathway_id, outcome="job")
    world.refresh()

    deliveries = list(WebhookDelivery.objects.order_by("id"))
    assert [d.event_type for d in deliveries] == PATHWAY_EVENTS
    assert {(d.pathway_id, d.referral_id) for d in deliveries} == {(pathway_id, None)}
    # Keyed on the timeline event each change appended.
    events = PathwayEvent.objects.filter(pathway_id=pathway_id)
    kinds = (EventKind.REFERENT_CHANGED, EventKind.MODALITY_CHANGED, EventKind.PATHWAY_CLOSED)
    assert [d.source_event_id for d in deliveries] == [events.get(kind=k).pk for k in kinds]

    assert webhooks_deliver().delivered == 3
    referent, modality, closed = (_episode(got) for got in receiver.received)
    assert [got.payload["type"] for got in receiver.received] == PATHWAY_EVENTS
    assert len({got.message_id for got in receiver.received}) == 3

    # The référent changed: the new one's name, the pathway still open.
    assert referent["id"] == f"pathway-{pathway_id}"
    assert referent["identifier"] == [{"system": "urn:parcours:pathway", "value": str(pathway_id)}]
    assert referent["status"] == "active"
    assert referent["careManager"] == {"display": colleague.user.get_full_name()}
    assert referent["managingOrganization"] == {
        "identifier": {"system": "urn:parcours:siret", "value": world.owner.organisation.siret},
        "display": "France Travail Arras",
    }
    assert referent["patient"] == {"reference": "#person"}
    [patient] = referent["contained"]
    assert patient["name"] == [{"family": "Martin", "given": ["Léa"]}]
    assert patient["birthDate"] == "1990-05-17"
    assert referent["type"][0]["coding"] == [
        {
            "system": "urn:parcours:fhir:CodeSystem/support-modality",
            "code": "suivi",
            "display": "Suivi",
        }
    ]
    assert "end" not in referent["period"] and "extension" not in referent

    # The modality changed: the new one, as the pages name it.
    assert modality["type"][0]["coding"][0]["code"] == "renforce"
    assert modality["type"][0]["text"] == "Renforcé"
    assert modality["status"] == "active"

    # Closed: finished, its dates, its outcome in French.
    assert closed["status"] == "finished"
    assert closed["period"] == {
        "start": world.pathway.opened_at.isoformat(),
        "end": world.pathway.closed_at.isoformat(),
    }
    assert closed["statusHistory"] == [{"status": "active", "period": closed["period"]}]
    [outcome] = closed["extension"]
    assert outcome["url"] == "urn:parcours:fhir:StructureDefinition/pathway-outcome"
    assert outcome["valueCodeableConcept"]["coding"] == [
        {
            "system": "urn:parcours:fhir:CodeSystem/pathway-outcome",
            "code": "job",
            "display": "Emploi",
        }
    ]


def test_no_free_text_and_nothing_outside_identity_and_pathway_leaves(world, receiver, subscribe):
    subscribe(world.partner, receiver, events=PATHWAY_EVENTS)
    # The owner sees every category (contact, social…): still only identity and pathway leave.
    subscribe(world.owner.organisation, receiver, events=PATHWAY_EVENTS)
    pathway_services.pathway_close(actor=world.owner, pathway_id=world.pathway.pk, outcome="other")
    assert webhooks_deliver().delivered == 2
    for got in receiver.received:
        _episode(got)
        text = got.body.decode()
        for secret in (NOTE, "psychiatrique", SUMMARY, PHONE, world.pathway.person.nir, "rqth"):
            assert secret not in text
        # The timeline's text of the closing ("Autre sortie") only as the outcome's display.
        assert text.count("Autre sortie") == 2  # coding display and text


def test_identity_stays_out_for_a_partner_without_the_identity_category(world, receiver, subscribe):
    other = OrganisationFactory(siae=True, name="Atelier du Rivage")
    CareTeamMemberFactory(pathway=world.pathway, organisation=other)
    ConsentFactory(person=world.pathway.person, organisations=[other], categories=["pathway"])
    subscribe(other, receiver, events=PATHWAY_EVENTS)
    pathway_services.pathway_set_modality(
        actor=world.owner, pathway_id=world.pathway.pk, modality="guide"
    )
    webhooks_deliver()
    [got] = receiver.received
    episode = _episode(got)
    assert episode["contained"] == [{"resourceType": "Patient", "id": "person"}]
    assert "Martin" not in got.body.decode() and "1990" not in got.body.decode()
    assert episode["careManager"]["display"] == world.owner.user.get_full_name()
    [row] = AccessEvent.objects.filter(purpose=WEBHOOK_PURPOSE, organisation=other)
    assert row.categories == ["pathway"]


def test_an_organisation_without_grants_on_the_pathway_gets_nothing(
    world, receiver, subscribe, make_actor
):
    stranger = make_actor(name="CCAS de Béthune")
    subscribe(stranger.organisation, receiver)
    pathway_services.pathway_set_modality(
        actor=world.owner, pathway_id=world.pathway.pk, modality="guide"
    )
    assert not WebhookDelivery.objects.exists()
    assert not AccessEvent.objects.filter(purpose=WEBHOOK_PURPOSE).exists()


def test_the_new_referents_organisation_hears_of_it_once_it_sees_the_pathway(
    world, receiver, subscribe, make_actor
):
    # A social worker of the département becomes the référent: the grants recomputed by the
    # change open the pathway to the département, whose system then hears of it.
    departement = OrganisationFactory(departement_council=True, name="Département du Pas-de-Calais")
    worker = make_actor(organisation=departement, role=Role.SOCIAL_WORKER)
    subscribe(departement, receiver, events=PATHWAY_EVENTS)
    pathway_services.pathway_set_referent(
        actor=world.owner, pathway_id=world.pathway.pk, referent_id=worker.user.pk
    )
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.subscription.organisation_id == departement.pk
    webhooks_deliver()
    [got] = receiver.received
    assert _episode(got)["careManager"] == {"display": worker.user.get_full_name()}


def test_a_subscription_not_asking_for_the_event_and_a_disabled_one_get_nothing(
    world, receiver, subscribe
):
    subscribe(world.partner, receiver, events=["pathway.closed", "referral.sent"])
    admin, disabled = subscribe(world.partner, receiver, events=PATHWAY_EVENTS)
    webhook_services.webhook_subscription_disable(
        actor=admin, subscription_id=disabled.subscription.pk
    )
    pathway_services.pathway_set_modality(
        actor=world.owner, pathway_id=world.pathway.pk, modality="guide"
    )
    assert not WebhookDelivery.objects.exists()
    pathway_services.pathway_close(actor=world.owner, pathway_id=world.pathway.pk, outcome="job")
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event_type == "pathway.closed"
    assert delivery.subscription_id != disabled.subscription.pk


def test_a_modality_set_to_its_current_value_sends_nothing(world, receiver, subscribe):
    subscribe(world.partner, receiver, events=PATHWAY_EVENTS)
    assert world.pathway.modality == "suivi"
    pathway_services.pathway_set_modality(
        actor=world.owner, pathway_id=world.pathway.pk, modality="suivi"
    )
    assert not WebhookDelivery.objects.exists()
    assert not PathwayEvent.objects.filter(kind=EventKind.MODALITY_CHANGED).exists()


def test_a_change_rolled_back_writes_nothing(world, receiver, subscribe):
    subscribe(world.partner, receiver, events=PATHWAY_EVENTS)
    with pytest.raises(RuntimeError), transaction.atomic():
        pathway_services.pathway_close(
            actor=world.owner, pathway_id=world.pathway.pk, outcome="job"
        )
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the request failed after the closing")
    assert not WebhookDelivery.objects.exists()
    assert not AccessEvent.objects.filter(purpose=WEBHOOK_PURPOSE).exists()


def test_recording_the_same_event_twice_writes_one_delivery(world, receiver, subscribe):
    subscribe(world.partner, receiver, events=PATHWAY_EVENTS)
    pathway_services.pathway_close(actor=world.owner, pathway_id=world.pathway.pk, outcome="job")
    delivery = WebhookDelivery.objects.get()
    again = webhook_services.webhook_pathway_events_record(
        pathway=world.refresh().pathway,
        kind=EventKind.PATHWAY_CLOSED,
        event_id=delivery.source_event_id,
        now=delivery.created_at,
    )
    assert again == 0
    assert WebhookDelivery.objects.count() == 1
    assert AccessEvent.objects.filter(purpose=WEBHOOK_PURPOSE).count() == 1


def test_each_message_is_an_export_to_the_partner_in_the_journal_and_the_reports(
    world, receiver, subscribe, make_actor, client_for
):
    from parcours.access import PersonPrincipal
    from parcours.selectors.access_reports import person_access_report
    from parcours.selectors.person_space import consultations_of

    subscribe(world.partner, receiver, events=PATHWAY_EVENTS)
    pathway_services.pathway_close(actor=world.owner, pathway_id=world.pathway.pk, outcome="job")
    delivery = WebhookDelivery.objects.get()
    [row] = AccessEvent.objects.filter(operation="export", purpose=WEBHOOK_PURPOSE)
    assert row.organisation_id == world.partner.pk and row.user_id is None
    assert (row.object_type, row.object_id) == ("pathway", world.pathway.pk)
    assert row.person_id == world.pathway.person_id
    assert sorted(row.categories) == ["identity", "pathway"]
    assert row.basis  # the partner's bases for what the message carries: its consent
    assert all(code.startswith("consent:") for code in row.basis.split())
    assert row.detail["webhook_id"] == delivery.message_id
    assert row.detail["event"] == "pathway.closed"

    # The DPO's report names the pathway; the person's, the kind of record in words.
    start, end = row.occurred_at.replace(year=2000), row.occurred_at.replace(year=2100)
    for version, record in (("internal", f"parcours n°{world.pathway.pk}"), ("person", "parcours")):
        report = person_access_report(
            person_id=world.pathway.person_id, start=start, end=end, version=version
        )
        [exported] = [r for r in report.rows if r.purpose == WEBHOOK_PURPOSE]
        assert (exported.organisation, exported.operation, exported.record) == (
            "Chantier Les Jardins",
            "Export",
            record,
        )
        assert exported.user == "traitement automatique"
    dpo = make_actor(organisation=world.owner.organisation, role=Role.DPO)
    response = client_for(dpo).get(f"/api/v1/dpo/persons/{world.pathway.person_id}/access-report/")
    assert response.status_code == 200, response.content
    assert WEBHOOK_PURPOSE in response.content.decode()

    # The person's own space: the partner received information from her record.
    page = consultations_of(PersonPrincipal(person_id=world.pathway.person_id, method="email_code"))
    assert any(
        c.organisation == "Chantier Les Jardins"
        and c.verb == "a reçu des informations de votre dossier"
        and c.purpose == WEBHOOK_PURPOSE
        for c in page.rows
    )
