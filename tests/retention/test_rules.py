"""Retention rules: defaults, the table's rows, the register's selector, the admin (superusers
only), and a shorter category rule erasing that category's data before the record's end."""

import datetime as dt

import pytest
import time_machine
from django.contrib.admin.sites import site
from django.test import RequestFactory

from parcours.categories import DataCategory
from parcours.models import Barrier, Pathway, PathwayEvent, Person, RetentionRule
from parcours.selectors.retention import (
    RetentionRuleInForce,
    months_before,
    retention_due,
    retention_rules_in_force,
)
from parcours.services.erasure import departement_of
from parcours.services.pathway import barrier_record
from parcours.services.retention import retention_apply
from tests.factories import UserFactory

from .conftest import LAST_CONTACT, UTC

DAY = dt.timedelta(days=1)


@pytest.mark.django_db
def test_defaults_apply_without_rows():
    assert retention_rules_in_force() == [
        RetentionRuleInForce("identity", "Identité", 24, 24, "CASF art. R.263-8", 48, False),
        RetentionRuleInForce("contact", "Coordonnées", 24, 24, "CASF art. R.263-8", 48, False),
        RetentionRuleInForce(
            "pathway",
            "Parcours, orientations et rendez-vous",
            24,
            24,
            "CASF art. R.263-8",
            48,
            False,
        ),
        RetentionRuleInForce(
            "social",
            "Diagnostic social et freins périphériques",
            24,
            24,
            "CASF art. R.263-8",
            48,
            False,
        ),
        RetentionRuleInForce(
            "health", "Santé et handicap", 24, 24, "CASF art. R.263-8 ; RGPD art. 9", 48, False
        ),
        RetentionRuleInForce(
            "justice", "Justice", 24, 24, "CASF art. R.263-8 ; RGPD art. 10", 48, False
        ),
        RetentionRuleInForce(
            "journal", "Journal des accès", 12, 0, "CNIL délibération n° 2021-122", 12, False
        ),
    ]


@pytest.mark.django_db
def test_rows_override_and_longer_categories_are_capped_by_the_record():
    RetentionRule.objects.create(category="pathway", active_months=12, archived_months=12)
    RetentionRule.objects.create(
        category="health", active_months=6, archived_months=0, reference="Avis du DPO"
    )
    RetentionRule.objects.create(category="contact", active_months=36, archived_months=36)
    rules = {rule.category: rule for rule in retention_rules_in_force()}
    assert (rules["pathway"].active_months, rules["pathway"].erased_after_months) == (12, 24)
    assert rules["health"].erased_after_months == 6 and rules["health"].configured
    assert rules["health"].reference == "Avis du DPO"
    assert rules["contact"].erased_after_months == 24  # capped: the record is anonymised then
    assert rules["identity"].erased_after_months == 24 and not rules["identity"].configured

    now = dt.datetime(2027, 3, 31, 12, 0, tzinfo=UTC)
    due = retention_due(now=now)
    assert due.archive_before == dt.datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    assert due.anonymise_before == dt.datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
    assert due.erase_before == {"health": dt.datetime(2026, 9, 30, 12, 0, tzinfo=UTC)}
    assert due.journal_before == dt.datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def test_months_before_keeps_the_wall_clock_and_clips_the_day():
    moment = dt.datetime(2028, 3, 31, 10, 0, tzinfo=UTC)
    assert months_before(moment, 1) == dt.datetime(2028, 2, 29, 10, 0, tzinfo=UTC)
    assert months_before(moment, 24) == dt.datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert months_before(moment, 13) == dt.datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    assert months_before(moment, 0) == moment


@pytest.mark.parametrize(
    ("postal_code", "departement"),
    [
        ("62300", "62"),
        ("01000", "01"),
        ("20000", "2A"),
        ("20167", "2A"),
        ("20200", "2B"),
        ("20600", "2B"),
        ("97400", "974"),
        ("97110", "971"),
        ("", ""),
        ("6230", ""),
    ],
)
def test_departement_of_a_postal_code(postal_code, departement):
    assert departement_of(postal_code) == departement


@pytest.mark.django_db
def test_a_shorter_health_rule_erases_health_data_early(record):
    RetentionRule.objects.create(category="health", active_months=6, archived_months=6)
    RetentionRule.objects.create(category="contact", active_months=12, archived_months=0)
    pathway = record.pathway
    health_event = PathwayEvent.objects.get(pathway=pathway, category="health")
    one_year = dt.datetime(2027, 3, 6, 10, 0, tzinfo=UTC)  # LAST_CONTACT + 12 months + 1 day

    with time_machine.travel(one_year - 2 * DAY, tick=False):
        assert retention_apply(now=one_year - 2 * DAY).erased == {"contact": [], "health": []}
    with time_machine.travel(one_year, tick=False):
        report = retention_apply(now=one_year)

    assert report.erased == {"contact": [pathway.pk], "health": [pathway.pk]}
    assert report.archived == []
    pathway.refresh_from_db()
    assert pathway.archived_at is None and pathway.erased_categories == ["contact", "health"]
    assert list(Barrier.objects.filter(pathway=pathway).values_list("kind", flat=True)) == [
        "housing"
    ]
    assert not PathwayEvent.objects.filter(pk=health_event.pk).exists()
    assert not Barrier.history.filter(kind="addiction").exists()
    person = Person.objects.get(pk=record.person.pk)
    assert person.rqth is False and person.court_supervision is True  # justice: not shorter
    assert (person.email, person.phone, person.address, person.postal_code) == ("", "", "", "")
    assert person.departement == "62"
    assert person.first_name == "Éloïse" and person.anonymised_at is None
    # The erased fields are blank in the person's history too; the rest of it stays.
    history = list(Person.history.filter(id=person.pk))
    assert history and all(h.email == "" and h.rqth is False for h in history)
    assert all(h.first_name == "Éloïse" for h in history)
    # Still active: the owner keeps working on it (a contact brings the clock back).
    with time_machine.travel(one_year + DAY, tick=False):
        assert retention_apply(now=one_year + DAY).erased == {"contact": [], "health": []}
        barrier_record(
            actor=record.owner, pathway_id=pathway.pk, kind="health", status="identified"
        )
    pathway.refresh_from_db()
    assert pathway.erased_categories == [] and pathway.last_contact_at == one_year + DAY


@pytest.mark.django_db
def test_only_superusers_change_the_rules():
    admin = site._registry[RetentionRule]
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True)
    assert not admin.has_change_permission(request)
    assert not admin.has_add_permission(request)
    request.user = UserFactory(is_staff=True, is_superuser=True)
    assert admin.has_change_permission(request)
    assert admin.has_add_permission(request)
    assert not admin.has_delete_permission(request)


@pytest.mark.django_db
def test_a_superuser_edits_a_rule_in_the_admin(client):
    rule = RetentionRule.objects.create(category="social", active_months=24, archived_months=24)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    url = f"/admin/parcours/retentionrule/{rule.pk}/change/"
    response = client.post(
        url,
        {
            "category": "social",
            "active_months": 12,
            "archived_months": 12,
            "reference": "Délibération du 3 mars",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.active_months, rule.archived_months) == (12, 12)
    assert rule.history.latest().history_user == superuser
    journal = RetentionRule(category="journal", active_months=12, archived_months=3)
    with pytest.raises(Exception, match="pas de phase d'archivage"):
        journal.full_clean()
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.post(url, {"category": "social", "active_months": 1}).status_code == 403


@pytest.mark.django_db
def test_a_pathway_built_outside_the_services_starts_its_clock_at_its_opening(make_actor):
    from tests.factories import PathwayFactory

    pathway = PathwayFactory(opened_at=LAST_CONTACT)
    assert Pathway.objects.get(pk=pathway.pk).last_contact_at == LAST_CONTACT
    assert DataCategory.PATHWAY in {rule.category for rule in retention_rules_in_force()}
