"""Migration 0012: existing agreements keep binding their parties, and the former snapshots of
their parties become per-party history rows (who added or removed which party, when, why).

The suite's test database is built without migrations (`--no-migrations`), so this test migrates
a scratch database of its own, up to 0010, writes agreements the way main did, then applies 0012.
"""

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone

BEFORE = [("parcours", "0010_journal_purge_marker_index")]
AFTER = [("parcours", "0012_agreement_acceptance")]


def _admin_dsn(settings_dict) -> str:
    return (
        f"host={settings_dict['HOST']} port={settings_dict['PORT'] or 5432} "
        f"user={settings_dict['USER']} password={settings_dict['PASSWORD']} dbname=postgres"
    )


@pytest.fixture
def scratch(django_db_blocker):
    """The default connection, pointed at an empty database of its own for the test, with
    migrations enabled. The default alias rather than another one: some earlier data migrations
    (0005, 0007) write through the default manager, which must not reach the suite's database."""
    test_database = connection.settings_dict["NAME"]
    name = f"{test_database}_migration_0012"
    dsn = _admin_dsn(connection.settings_dict)
    with django_db_blocker.unblock(), override_settings(MIGRATION_MODULES={}):
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        connection.settings_dict["NAME"] = name
        try:
            yield connection
        finally:
            connection.close()
            connection.settings_dict["NAME"] = test_database
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(db, targets):
    executor = MigrationExecutor(db)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _organisation(apps, db, n: int, kind: str):
    Organisation = apps.get_model("parcours", "Organisation")
    area = (
        apps.get_model("parcours", "EmploymentArea")
        .objects.using(db)
        .create(code=f"B{n:04d}", name=f"Bassin {n}", departement="62")
    )
    group = apps.get_model("auth", "Group").objects.using(db).create(name=f"organisation:{n}")
    return Organisation.objects.using(db).create(
        kind=kind, name=f"{kind} {n}", siret=f"{n:014d}", departement="62",
        employment_area=area, contact_email=f"contact{n}@partenaire.test", group=group,
    )  # fmt: skip


def test_existing_agreements_are_carried_over_as_accepted_with_their_history(scratch):
    db = scratch.alias
    old = _migrate(scratch, BEFORE)
    Agreement = old.get_model("parcours", "Agreement")
    HistoricalAgreement = old.get_model("parcours", "HistoricalAgreement")
    Snapshot = old.get_model("parcours", "HistoricalAgreement_parties")
    Through = Agreement.parties.through
    ft, ml, ccas = (
        _organisation(old, db, n, kind)
        for n, kind in enumerate(["france_travail", "mission_locale", "ccas"], start=1)
    )
    manager = old.get_model("auth", "User").objects.using(db).create(username="responsable")

    # Recorded between France Travail and the Mission locale, then changed the way main allowed:
    # the CCAS added and the Mission locale removed in one go.
    agreement = Agreement.objects.using(db).create(
        name="Cotraitance", level="local", starts_on=dt.date(2024, 1, 1)
    )
    rows: dict[int, int] = {}
    recorded = timezone.now() - dt.timedelta(days=30)
    widened = timezone.now() - dt.timedelta(days=2)
    for when, reason, organisations in [
        (recorded, "Enregistrement de la convention", [ft, ml]),
        (widened, "Modification de la convention", [ft, ccas]),
    ]:
        version = HistoricalAgreement.objects.using(db).create(
            id=agreement.pk,
            name=agreement.name,
            level="local",
            starts_on=agreement.starts_on,
            shared_categories=[],
            created_at=agreement.created_at,
            history_date=when,
            history_type="~",
            history_change_reason=reason,
            history_user_id=manager.pk,
        )
        for organisation in organisations:
            if organisation.pk not in rows:
                rows[organisation.pk] = (
                    Through.objects.using(db)
                    .create(agreement_id=agreement.pk, organisation_id=organisation.pk)
                    .pk
                )
            Snapshot.objects.using(db).create(
                history_id=version.history_id,
                id=rows[organisation.pk],
                agreement_id=agreement.pk,
                organisation_id=organisation.pk,
            )
    Through.objects.using(db).filter(organisation_id=ml.pk).delete()

    new = _migrate(scratch, AFTER)
    AgreementParty = new.get_model("parcours", "AgreementParty")
    HistoricalAgreementParty = new.get_model("parcours", "HistoricalAgreementParty")

    parties = list(AgreementParty.objects.using(db).filter(agreement_id=agreement.pk))
    # Every existing party accepted (the agreement keeps binding them), same rows, dated when
    # each joined, attributed to nobody.
    assert {p.organisation_id: p.status for p in parties} == {
        ft.pk: "accepted",
        ccas.pk: "accepted",
    }
    assert {p.pk for p in parties} == {rows[ft.pk], rows[ccas.pk]}
    assert {p.organisation_id: p.decided_at for p in parties} == {ft.pk: recorded, ccas.pk: widened}
    assert all(p.decided_by_id is None for p in parties)

    history = HistoricalAgreementParty.objects.using(db).filter(agreement_id=agreement.pk)
    changes = sorted(
        history.exclude(history_type="~").values_list(
            "history_date", "organisation_id", "history_type"
        )
    )
    assert changes == sorted(
        [
            (recorded, ft.pk, "+"),
            (recorded, ml.pk, "+"),
            (widened, ccas.pk, "+"),
            (widened, ml.pk, "-"),
        ]
    )
    removal = history.get(history_type="-")
    assert removal.history_user_id == manager.pk
    assert removal.history_change_reason == "Modification de la convention"
    carried = history.filter(history_type="~")
    assert {h.organisation_id for h in carried} == {ft.pk, ccas.pk}
    assert all(h.history_change_reason.startswith("Acceptation reprise") for h in carried)

    # The constraints hold on the carried-over rows, and the schema goes back down.
    _migrate(scratch, BEFORE)
    assert Through.objects.using(db).filter(agreement_id=agreement.pk).count() == 2
