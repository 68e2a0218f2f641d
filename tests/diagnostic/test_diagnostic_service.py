"""The shared diagnostic's service (issue 13): versions, never updates; the domain's category
decides who reads and writes it (404, journaled, without it); the gate's table decides who
writes (403); archived and closed pathways are read-only."""

import pytest
from django.utils import timezone

from parcours import access
from parcours.diagnostic_domains import (
    DOMAINS,
    TEXT_MAX_LENGTH,
    DiagnosticDomain,
    domain_category,
)
from parcours.errors import Archived, Conflict, InvalidInput, NotAllowed
from parcours.gate import Door, door
from parcours.models import (
    AccessEvent,
    DiagnosticEntry,
    EventKind,
    Pathway,
    PathwayEvent,
    Role,
)
from parcours.selectors.diagnostic import diagnostic_by_domain
from parcours.selectors.subject_access import subject_access_data
from parcours.services.diagnostic import diagnostic_write
from parcours.services.erasure import pathway_anonymise, pathway_erase_category
from tests.factories import (
    CareTeamMemberFactory,
    ConsentFactory,
    PathwayFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pathway(counsellor):
    return PathwayFactory(owner_organisation=counsellor.organisation, referent=counsellor.user)


def _partner(make_actor, pathway, categories, role=Role.COUNSELLOR):
    """A care-team partner seeing `categories` through the person's consent."""
    partner = make_actor(role=role)
    CareTeamMemberFactory(pathway=pathway, organisation=partner.organisation)
    ConsentFactory(
        person=pathway.person, organisations=[partner.organisation], categories=categories
    )
    return partner


def _write(actor, pathway, domain="housing", text="Hébergée chez sa sœur", level=""):
    return diagnostic_write(
        actor=actor, pathway_id=pathway.pk, domain=domain, text=text, level=level
    )


def test_every_domain_has_a_category_and_a_slug():
    assert set(DOMAINS) == set(DiagnosticDomain.values)
    assert domain_category("housing") == "social"
    assert domain_category("health") == "health"
    assert domain_category("justice") == "justice"
    assert domain_category("professional_project") == "pathway"
    assert len({slug for _c, slug in DOMAINS.values()}) == len(DOMAINS)


def test_each_write_is_a_new_version_the_latest_is_current(counsellor, make_actor, pathway):
    first = _write(counsellor, pathway, text="Hébergée chez sa sœur", level="blocking")
    partner = _partner(make_actor, pathway, ["identity", "pathway", "social"])
    second = _write(partner, pathway, text="Logement social attribué", level="strength")

    assert DiagnosticEntry.objects.filter(pathway=pathway).count() == 2
    first.refresh_from_db()
    assert first.text == "Hébergée chez sa sœur"  # never updated in place
    assert (second.author, second.author_organisation) == (partner.user, partner.organisation)

    versions = access.diagnostic_visible_to(counsellor, pathway.pk)
    housing = next(
        d for d in diagnostic_by_domain(versions, {"pathway", "social"}) if d.domain == "housing"
    )
    assert housing.current == second
    assert housing.previous == [first]
    assert housing.label == "Logement"


def test_a_write_journals_its_category_and_adds_a_timeline_event(counsellor, pathway):
    before = AccessEvent.objects.count()
    _write(counsellor, pathway, level="to_work_on")
    row = AccessEvent.objects.order_by("-id").first()
    assert AccessEvent.objects.count() == before + 1
    assert (row.operation, row.object_type, row.object_id) == ("write", "pathway", pathway.pk)
    assert row.categories == ["social"]
    assert row.detail["action"] == "diagnostic.write"
    assert "legal:owner" in row.basis
    event = PathwayEvent.objects.get(pathway=pathway, kind=EventKind.DIAGNOSTIC_WRITTEN)
    assert (event.category, event.text) == ("social", "Logement : À travailler")
    assert Pathway.objects.get(pk=pathway.pk).last_contact_at == event.occurred_at


def test_a_domain_of_a_category_not_seen_is_not_found_and_the_refusal_journaled(
    counsellor, make_actor, pathway
):
    partner = _partner(make_actor, pathway, ["identity", "pathway"])  # no social data
    # The door keeps the refusal across the service's rollback, and writes it when it closes.
    with door(Door.COMMAND), pytest.raises(Pathway.DoesNotExist):
        _write(partner, pathway, domain="housing")
    refusal = AccessEvent.objects.order_by("-id").first()
    assert (refusal.operation, refusal.object_id) == ("denied", pathway.pk)
    assert refusal.detail["refusal"] == "not_found"
    assert refusal.organisation_id == partner.organisation.pk
    # Its own category's domains it writes; the owner's health domain needs the person's consent.
    _write(partner, pathway, domain="professional_project", text="Vise la logistique")
    with pytest.raises(Pathway.DoesNotExist):
        _write(counsellor, pathway, domain="health", text="Suivi médical")
    assert DiagnosticEntry.objects.filter(pathway=pathway).count() == 1


def test_the_reader_sees_only_the_domains_of_its_categories(counsellor, make_actor, pathway):
    _write(counsellor, pathway, domain="housing")
    _write(counsellor, pathway, domain="training", text="CAP cuisine")
    partner = _partner(make_actor, pathway, ["identity", "pathway"])
    seen = access.diagnostic_visible_to(partner, pathway.pk)
    assert [e.domain for e in seen] == ["training"]
    items = diagnostic_by_domain(seen, {"identity", "pathway"})
    assert [d.domain for d in items] == ["professional_project", "training"]


def test_the_table_refuses_a_manager_and_a_sender(counsellor, make_actor, pathway):
    manager = make_actor(organisation=counsellor.organisation, role=Role.MANAGER)
    with door(Door.COMMAND), pytest.raises(NotAllowed) as refused:
        _write(manager, pathway, domain="professional_project")
    assert "conseillers et travailleurs sociaux" in refused.value.message
    with door(Door.COMMAND), pytest.raises(Pathway.DoesNotExist):  # a manager sees no social
        _write(manager, pathway, domain="housing")
    refusals = AccessEvent.objects.filter(operation="denied", organisation=manager.organisation)
    assert [r.detail["refusal"] for r in refusals.order_by("id")] == ["not_allowed", "not_found"]


def test_the_receiver_of_a_referral_writes_the_sender_that_does_not_follow_does_not(
    counsellor, make_actor, pathway
):
    receiver = make_actor(siae=True)
    ReferralFactory(
        pathway=pathway,
        sender_user=counsellor.user,
        receiver_organisation=receiver.organisation,
        sent=True,
    )
    _write(receiver, pathway, domain="training", text="Bon niveau en atelier")
    sender = make_actor()
    other = PathwayFactory(owner_organisation=make_actor().organisation)
    ReferralFactory(
        pathway=other,
        sender_organisation=sender.organisation,
        sender_user=sender.user,
        sent=True,
    )
    with pytest.raises(NotAllowed):
        _write(sender, other, domain="training")


@pytest.mark.parametrize(
    ("domain", "text", "level", "field"),
    [
        ("housing_typo", "Texte", "", "domain"),
        ("housing", "   ", "", "text"),
        ("housing", "x" * (TEXT_MAX_LENGTH + 1), "", "text"),
        ("housing", "Texte", "urgent", "level"),
    ],
)
def test_bad_input_is_a_french_field_error_and_writes_nothing(
    counsellor, pathway, domain, text, level, field
):
    with pytest.raises(InvalidInput) as error:
        _write(counsellor, pathway, domain=domain, text=text, level=level)
    assert field in error.value.fields
    assert not DiagnosticEntry.objects.exists()


def test_an_archived_or_closed_pathway_is_read_only(counsellor, pathway):
    Pathway.objects.filter(pk=pathway.pk).update(archived_at=timezone.now())
    with pytest.raises(Archived):
        _write(counsellor, pathway)
    Pathway.objects.filter(pk=pathway.pk).update(
        archived_at=None, status="closed", closed_at=timezone.now(), outcome="job"
    )
    with pytest.raises(Conflict):
        _write(counsellor, pathway)
    assert not DiagnosticEntry.objects.exists()


def test_erasure_wipes_the_diagnostic_of_the_erased_category(counsellor, pathway):
    ConsentFactory(
        person=pathway.person,
        organisations=[counsellor.organisation],
        categories=["health", "justice"],
    )
    _write(counsellor, pathway, domain="housing", text="Hébergée chez sa sœur")
    _write(counsellor, pathway, domain="health", text="Suivi médical régulier")
    _write(counsellor, pathway, domain="training", text="CAP cuisine")
    pathway_erase_category(pathway=pathway, category="social")
    assert DiagnosticEntry.objects.get(domain="housing").text == ""
    pathway_erase_category(pathway=pathway, category="health")
    assert not DiagnosticEntry.objects.filter(domain="health").exists()
    pathway_anonymise(pathway=Pathway.objects.get(pk=pathway.pk), now=timezone.now())
    assert set(DiagnosticEntry.objects.values_list("text", flat=True)) == {""}


def test_the_subject_access_pack_holds_every_version(counsellor, pathway):
    _write(counsellor, pathway, text="Hébergée chez sa sœur", level="blocking")
    _write(counsellor, pathway, text="Logement social attribué", level="strength")
    data = subject_access_data(person_id=pathway.person_id, now=timezone.now())
    (held,) = data["pathways"]
    assert [(v["domain_label"], v["level_label"], v["text"]) for v in held["diagnostic"]] == [
        ("Logement", "Frein bloquant", "Hébergée chez sa sœur"),
        ("Logement", "Point d'appui", "Logement social attribué"),
    ]
    social = next(c for c in data["categories"] if c["code"] == "social")
    assert social["other_records"]["diagnostic_versions"] == 2
