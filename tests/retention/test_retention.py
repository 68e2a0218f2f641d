"""Retention moves the clock (issue 7): nothing before 2 years, archived (read-only, owner only)
at 2 years, anonymised at 4 with the statistics kept; activity pushes the dates; a dry run
changes nothing; a second run does nothing."""

# Raw SQL reads whole tables (constant names, never input): what a database reader would see.
# ruff: noqa: S608

import datetime as dt

import pytest
import time_machine
from django.db import connection

from parcours import access
from parcours.errors import Archived
from parcours.gate.journal import journal_record
from parcours.models import (
    AccessEvent,
    AccessOperation,
    Appointment,
    Barrier,
    Pathway,
    PathwayEvent,
    PathwayGroupObjectPermission,
    Person,
    Referral,
)
from parcours.services.archive import pathway_reactivate
from parcours.services.break_glass import break_glass_open
from parcours.services.consent import consent_record, consent_revoke
from parcours.services.pathway import pathway_add_note, pathway_close
from parcours.services.person import person_update
from parcours.services.referral import referral_close
from parcours.services.retention import retention_apply
from tests.factories import PathwayFactory

from .conftest import LAST_CONTACT, UTC

pytestmark = pytest.mark.django_db

TWO_YEARS = dt.datetime(2028, 3, 5, 10, 0, tzinfo=UTC)  # LAST_CONTACT + 24 months
FOUR_YEARS = dt.datetime(2030, 3, 5, 10, 0, tzinfo=UTC)  # LAST_CONTACT + 48 months
DAY = dt.timedelta(days=1)

# Every table a person's data lives in, with its history tables and the journal.
TABLES = [
    "parcours_person",
    "parcours_historicalperson",
    "parcours_pathway",
    "parcours_historicalpathway",
    "parcours_pathwayevent",
    "parcours_barrier",
    "parcours_historicalbarrier",
    "parcours_referral",
    "parcours_historicalreferral",
    "parcours_appointment",
    "parcours_historicalappointment",
    "parcours_consent",
    "parcours_historicalconsent",
    "parcours_historicalconsent_organisations",
    "parcours_modalityperiod",
    "parcours_objective",
    "parcours_historicalobjective",
    "parcours_planaction",
    "parcours_historicalplanaction",
    "parcours_pathwaygroupobjectpermission",
    "parcours_pathwayuserobjectpermission",
    "parcours_accessevent",
    "parcours_journalcheckpoint",
]


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table concerned, as stored (ciphertexts included)."""
    rows = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
            rows[table] = cursor.fetchall()
    return rows


def stored_texts(rows: dict[str, list[tuple]]) -> set[str]:
    return {v for table in rows.values() for row in table for v in row if isinstance(v, str)}


def apply_at(moment: dt.datetime, **options):
    with time_machine.travel(moment, tick=False):
        return retention_apply(now=moment, **options)


def sees(actor, pathway) -> bool:
    return access.pathways_visible_to(actor).filter(pk=pathway.pk).exists()


def test_nothing_happens_before_two_years(record):
    before = snapshot()
    for moment in (LAST_CONTACT + 365 * DAY, TWO_YEARS - DAY, TWO_YEARS):
        report = apply_at(moment)
        assert report.archived == [] and report.anonymised_pathways == []
    after = snapshot()
    # Only the journal grew: one report row per run, nothing else changed.
    assert {t: r for t, r in after.items() if t != "parcours_accessevent"} == {
        t: r for t, r in before.items() if t != "parcours_accessevent"
    }
    reports = AccessEvent.objects.filter(operation=AccessOperation.REPORT, object_type="retention")
    assert reports.count() == 3
    assert reports.first().detail["archived"] == 0
    with time_machine.travel(TWO_YEARS, tick=False):
        assert sees(record.owner, record.pathway) and sees(record.partner, record.pathway)


def test_archived_after_two_years_is_read_only_and_seen_by_its_owner_only(record):
    with time_machine.travel(TWO_YEARS, tick=False):
        assert sees(record.partner, record.pathway)  # consent and an open referral

    report = apply_at(TWO_YEARS + DAY)

    assert report.archived == [record.pathway.pk]
    pathway = Pathway.objects.get(pk=record.pathway.pk)
    assert pathway.archived_at == TWO_YEARS + DAY and pathway.anonymised_at is None
    assert pathway.history.latest().history_change_reason.startswith("Archivage")
    assert pathway.history.latest().history_user is None
    with time_machine.travel(TWO_YEARS + 2 * DAY, tick=False):
        # Visible to the owner only; the partner's consent and referral no longer count.
        assert sees(record.owner, pathway)
        assert not sees(record.partner, pathway)
        assert access.persons_visible_to(record.owner).filter(pk=record.person.pk).exists()
        assert not access.persons_visible_to(record.partner).filter(pk=record.person.pk).exists()
        assert not access.referrals_visible_to(record.partner).exists()
        # No change permission left, even for the owner.
        assert set(
            PathwayGroupObjectPermission.objects.filter(content_object=pathway).values_list(
                "group_id", "permission__codename"
            )
        ) == {
            (record.owner.organisation.group_id, f"view_pathway_{category}")
            for category in ("identity", "contact", "pathway", "social", "health")
        }

        # Read-only: every write service refuses, with a French message.
        with pytest.raises(Archived, match=r"archivé .* lecture seule"):
            pathway_add_note(actor=record.owner, pathway_id=pathway.pk, kind="note", text="x")
        with pytest.raises(Archived):
            pathway_close(actor=record.owner, pathway_id=pathway.pk, outcome="job")
        with pytest.raises(Archived):
            referral_close(actor=record.owner, referral_id=record.referral.pk, outcome="job")
        with pytest.raises(Archived, match="dossier de cette personne est archivé"):
            person_update(actor=record.owner, person_id=record.person.pk, changes={"city": "Arras"})
        with pytest.raises(Archived):
            consent_record(
                actor=record.owner,
                person_id=record.person.pk,
                categories=["identity"],
                organisation_ids=[record.partner.organisation.pk],
                purpose="Nouvel accord",
                evidence_kind="oral",
            )
        with pytest.raises(Archived):
            break_glass_open(
                actor=record.owner,
                pathway_id=pathway.pk,
                category="justice",
                reason="Préparer l'audience de la semaine prochaine",
            )
        # For the partner the record is simply not there any more (404).
        with pytest.raises(Referral.DoesNotExist):
            referral_close(actor=record.partner, referral_id=record.referral.pk, outcome="job")
        with pytest.raises(Pathway.DoesNotExist):
            break_glass_open(
                actor=record.partner,
                pathway_id=pathway.pk,
                category="social",
                reason="Préparer l'entretien de la semaine prochaine",
            )
        # Restricting processing stays the person's right.
        consent_revoke(actor=record.owner, consent_id=record.consent.pk)
    assert Person.objects.get(pk=record.person.pk).first_name == "Éloïse"  # not anonymised yet

    # The retention job's own row (the system's: no user), beside the services' writes.
    written = AccessEvent.objects.get(
        operation=AccessOperation.WRITE, object_type="pathway", user__isnull=True
    )
    assert written.object_ids == [pathway.pk]
    assert written.user is None and written.purpose == "Conservation des données : archivage"


def test_anonymised_after_four_years_keeping_the_statistics(
    record, django_capture_on_commit_callbacks
):
    with time_machine.travel(LAST_CONTACT, tick=False):
        journal_record(
            actor=record.partner,
            operation=AccessOperation.READ,
            object_type="person",
            object_id=record.person.pk,
            person_id=record.person.pk,
        )
    referral = record.referral
    evidence = record.consent.evidence_file
    assert evidence.storage.exists(evidence.name)
    counts = {
        model: model.objects.count()
        for model in (Person, Pathway, Referral, Appointment, PathwayEvent)
    }
    health_events = PathwayEvent.objects.filter(category="health").count()
    assert health_events == 1
    journal_about_person = list(
        AccessEvent.objects.filter(person_id=record.person.pk).values_list("pk", "row_hash")
    )
    before = snapshot()
    old_ciphertexts = {text for text in stored_texts(before) if text.startswith("gAAAAA")}
    assert len(old_ciphertexts) > 20

    apply_at(TWO_YEARS + DAY)
    assert Person.objects.get(pk=record.person.pk).anonymised_at is None
    with django_capture_on_commit_callbacks(execute=True):
        report = apply_at(FOUR_YEARS + DAY)

    assert report.anonymised_pathways == [record.pathway.pk]
    assert report.anonymised_persons == [record.person.pk]
    person = Person.objects.get(pk=record.person.pk)
    assert person.anonymised_at == FOUR_YEARS + DAY
    for field in (
        "first_name",
        "last_name",
        "email",
        "phone",
        "address",
        "postal_code",
        "city",
        "nir",
        "france_travail_id",
        "name_key",
        "nir_index",
        "france_travail_id_index",
        "identity_index",
    ):
        assert getattr(person, field) == "", field
    assert not (person.rqth or person.court_supervision or person.lives_in_qpv)
    assert not person.receives_rsa
    assert str(person) == f"Personne anonymisée n°{person.pk}"

    # Statistics kept: birth year, département, every row with its states and dates.
    assert person.birth_year == 1990 and person.birth_date == dt.date(1990, 1, 1)
    assert person.departement == "62"
    assert {model: model.objects.count() for model in counts} == {
        **counts,
        PathwayEvent: counts[PathwayEvent] - health_events,
    }
    kept = Referral.objects.get(pk=referral.pk)
    for field in ("status", "kind", "created_at", "sent_at", "accepted_at", "attended_at"):
        assert getattr(kept, field) == getattr(referral, field), field
    assert kept.sender_organisation_id == record.owner.organisation.pk
    assert kept.receiver_organisation_id == record.partner.organisation.pk
    appointment = Appointment.objects.get(pk=record.appointment.pk)
    assert (appointment.starts_at, appointment.outcome) == (LAST_CONTACT, "attended")
    assert appointment.place == ""
    pathway = Pathway.objects.get(pk=record.pathway.pk)
    assert (pathway.status, pathway.opened_at) == ("open", record.pathway.opened_at)
    assert pathway.archived_at == TWO_YEARS + DAY and pathway.anonymised_at == FOUR_YEARS + DAY
    assert list(Barrier.objects.filter(pathway=pathway).values_list("kind", "detail")) == [
        ("housing", "")  # the addiction barrier was health data: gone
    ]
    assert set(PathwayEvent.objects.filter(pathway=pathway).values_list("text", flat=True)) == {""}
    assert (kept.reason, kept.context_note) == ("", "")

    # No old value anywhere, history tables included: neither ciphertext nor clear text.
    after = snapshot()
    texts = stored_texts(after)
    assert not old_ciphertexts & texts
    for clear in (
        "Éloïse",
        "Martin",
        "martin|eloise",
        "Premier entretien",
        "Chantier d'insertion",
        "Jardins du Bassin, 3 rue Basly",
        "Accompagnement vers l'emploi",
    ):
        assert not any(clear in text for text in texts), clear
    for table in (
        "parcours_historicalperson",
        "parcours_historicalpathway",
        "parcours_historicalbarrier",
        "parcours_historicalreferral",
        "parcours_historicalappointment",
        "parcours_historicalconsent",
        "parcours_historicalconsent_organisations",
        "parcours_historicalobjective",
        "parcours_historicalplanaction",
        "parcours_pathwaygroupobjectpermission",
    ):
        assert after[table] == [], table
    # The consent's signed form is deleted; the consent row keeps its categories and dates.
    assert not evidence.storage.exists(evidence.name)
    consent = type(record.consent).objects.get(pk=record.consent.pk)
    assert (consent.evidence_file.name, consent.purpose) == ("", "")
    assert consent.categories == ["health", "identity", "pathway", "social"]

    # Nobody sees it any more; the journal's rows about the person are untouched.
    with time_machine.travel(FOUR_YEARS + 2 * DAY, tick=False):
        assert not sees(record.owner, pathway)
    assert all(
        AccessEvent.objects.filter(pk=pk, row_hash=row_hash).exists()
        for pk, row_hash in journal_about_person
    )
    persons_written = AccessEvent.objects.get(
        operation=AccessOperation.WRITE, object_type="person", user__isnull=True
    )
    assert persons_written.object_ids == [person.pk]
    assert persons_written.purpose == "Conservation des données : anonymisation"


def test_activity_pushes_the_dates(record):
    note_day = LAST_CONTACT + 700 * DAY
    with time_machine.travel(note_day, tick=False):
        pathway_add_note(
            actor=record.owner, pathway_id=record.pathway.pk, kind="action", text="Relance"
        )
    assert Pathway.objects.get(pk=record.pathway.pk).last_contact_at == note_day

    assert apply_at(TWO_YEARS + DAY).archived == []
    rectified = dt.datetime(2029, 12, 1, 9, 0, tzinfo=UTC)  # 2 years after the note: not yet
    with time_machine.travel(rectified, tick=False):
        person_update(actor=record.owner, person_id=record.person.pk, changes={"city": "Liévin"})
    assert Pathway.objects.get(pk=record.pathway.pk).last_contact_at == rectified
    assert apply_at(dt.datetime(2031, 12, 1, 9, 0, tzinfo=UTC)).archived == []
    report = apply_at(dt.datetime(2031, 12, 2, 9, 0, tzinfo=UTC))
    assert report.archived == [record.pathway.pk]
    assert report.anonymised_pathways == []


def test_system_moves_are_not_contacts(record):
    """An expiry by the system (no actor) does not move the clock."""
    from parcours.services.timeline import timeline_record

    with time_machine.travel(LAST_CONTACT + 100 * DAY, tick=False):
        timeline_record(pathway=record.pathway, kind="note", actor=None, text="automatique")
    assert Pathway.objects.get(pk=record.pathway.pk).last_contact_at == LAST_CONTACT


def test_a_person_with_one_recent_pathway_is_not_anonymised(record):
    with time_machine.travel(LAST_CONTACT, tick=False):
        referral_close(actor=record.partner, referral_id=record.referral.pk, outcome="job")
        pathway_close(actor=record.owner, pathway_id=record.pathway.pk, outcome="job")
    old = Pathway.objects.get(pk=record.pathway.pk)
    recent = PathwayFactory(
        person=record.person,
        owner_organisation=record.partner.organisation,
        opened_at=dt.datetime(2029, 1, 10, tzinfo=UTC),
    )

    report = apply_at(FOUR_YEARS + DAY)

    assert report.archived == [old.pk]
    assert report.anonymised_pathways == [old.pk]
    assert report.anonymised_persons == []
    person = Person.objects.get(pk=record.person.pk)
    assert person.anonymised_at is None
    assert (person.first_name, person.last_name, person.city) == ("Éloïse", "Martin", "Lens")
    assert Person.history.filter(id=person.pk).exists()
    old.refresh_from_db()
    assert old.anonymised_at is not None and old.diagnostic_summary == ""
    assert set(old.events.values_list("text", flat=True)) == {""}
    recent.refresh_from_db()
    assert recent.archived_at is None
    with time_machine.travel(FOUR_YEARS + DAY, tick=False):
        assert sees(record.partner, recent)
        assert not sees(record.owner, old)
        # Still followed: the person stays editable by the organisation that follows them.
        person_update(actor=record.partner, person_id=person.pk, changes={"city": "Arras"})


def test_dry_run_changes_nothing(record):
    apply_at(TWO_YEARS + DAY)
    before = snapshot()

    report = apply_at(FOUR_YEARS + DAY, dry_run=True)

    assert report.dry_run
    assert report.anonymised_pathways == [record.pathway.pk]
    assert report.anonymised_persons == [record.person.pk]
    assert report.archived == []
    assert snapshot() == before  # not even a journal row
    assert "Simulation : rien n'a été modifié." in report.summary_lines()


def test_dry_run_before_archiving_lists_what_would_be_archived(record):
    before = snapshot()
    report = apply_at(TWO_YEARS + DAY, dry_run=True)
    assert report.archived == [record.pathway.pk]
    assert snapshot() == before


def test_a_second_run_does_nothing(record):
    first = apply_at(FOUR_YEARS + DAY)
    assert first.archived == [record.pathway.pk]  # archived and anonymised in one run
    assert first.anonymised_persons == [record.person.pk]
    before = snapshot()
    last_journal_id = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first()

    second = apply_at(FOUR_YEARS + DAY + dt.timedelta(hours=2))

    assert second.as_dict() | {"now": None} == {
        "now": None,
        "dry_run": False,
        "archived": 0,
        "anonymised_pathways": 0,
        "anonymised_persons": 0,
        "erased": {},
        "journal_due": 0,
        "journal_purged": 0,
        "journal_checkpoint_seq": None,
        "journal_note": "",
        "complete": True,
    }
    after = snapshot()
    new_rows = AccessEvent.objects.filter(id__gt=last_journal_id)
    assert list(new_rows.values_list("operation", "object_type")) == [("report", "retention")]
    assert {t: r for t, r in after.items() if t != "parcours_accessevent"} == {
        t: r for t, r in before.items() if t != "parcours_accessevent"
    }


def test_batches_are_journaled_one_row_each(make_actor):
    owner = make_actor()
    pathways = [
        PathwayFactory(owner_organisation=owner.organisation, opened_at=LAST_CONTACT)
        for _ in range(5)
    ]
    lines = []

    report = apply_at(TWO_YEARS + DAY, batch_size=2, progress=lines.append)

    assert sorted(report.archived) == sorted(p.pk for p in pathways)
    rows = AccessEvent.objects.filter(operation=AccessOperation.WRITE).order_by("id")
    assert [len(row.object_ids) for row in rows] == [2, 2, 1]
    assert lines == [
        "Archivage : 2 parcours dans ce lot, 2 au total",
        "Archivage : 2 parcours dans ce lot, 4 au total",
        "Archivage : 1 parcours dans ce lot, 5 au total",
    ]


def test_the_time_budget_stops_between_batches(make_actor):
    owner = make_actor()
    for _ in range(3):
        PathwayFactory(owner_organisation=owner.organisation, opened_at=LAST_CONTACT)

    report = apply_at(TWO_YEARS + DAY, batch_size=1, budget_seconds=0)

    assert not report.complete and report.archived == []
    assert "la prochaine exécution reprendra" in report.summary_lines()[-1]
    assert len(apply_at(TWO_YEARS + DAY, batch_size=1).archived) == 3


def test_the_owner_reactivates_an_archived_pathway(record):
    apply_at(TWO_YEARS + DAY)
    back = TWO_YEARS + 30 * DAY
    with time_machine.travel(back, tick=False):
        with pytest.raises(Pathway.DoesNotExist):
            pathway_reactivate(
                actor=record.partner, pathway_id=record.pathway.pk, reason="Elle revient"
            )
        pathway_reactivate(
            actor=record.owner, pathway_id=record.pathway.pk, reason="Elle revient nous voir"
        )
        pathway = Pathway.objects.get(pk=record.pathway.pk)
        assert pathway.archived_at is None and pathway.last_contact_at == back
        assert pathway.events.filter(kind="reactivated").get().text == "Elle revient nous voir"
        assert sees(record.partner, pathway)  # the relationship and the consent count again
        pathway_add_note(actor=record.owner, pathway_id=pathway.pk, kind="note", text="Retour")
    assert apply_at(back + 700 * DAY).archived == []


def test_the_owner_is_shown_that_the_pathway_is_archived(record, client_for):
    apply_at(TWO_YEARS + DAY)
    with time_machine.travel(TWO_YEARS + 2 * DAY, tick=False):
        response = client_for(record.owner).get(f"/api/v1/pathways/{record.pathway.pk}/")
        assert response.status_code == 200
        assert response.json()["archived_at"] == "2028-03-06T11:00:00+01:00"
        note = client_for(record.owner).post(
            f"/api/v1/pathways/{record.pathway.pk}/notes/", {"text": "Nouvel entretien"}
        )
        assert note.status_code == 409 and note.json()["code"] == "archived"
        page = client_for(record.owner)
        page.force_login(record.owner.user)
        html = page.get(f"/personnes/{record.person.pk}/").content.decode()
        assert "Archivé le 06/03/2028 : lecture seule" in html
