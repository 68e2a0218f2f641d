"""The person's access report (issue 7, first slice): a history built through the real API
across three organisations, then the report's rows checked exactly, in both versions, as CSV,
and its own generation journaled."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from parcours.models import AccessEvent
from parcours.selectors.access_reports import CSV_COLUMNS, PERSON_VERSION_STAFF
from parcours.services.access_reports import access_report_generate

pytestmark = pytest.mark.django_db

PERIOD = {
    "start": timezone.now() - dt.timedelta(days=1),
    "end": timezone.now() + dt.timedelta(days=1),
}


def _rows(report):
    return [(r.organisation, r.operation) for r in report.rows]


def test_the_internal_report_lists_every_access_with_staff_names(history):
    report = access_report_generate(person_id=history["person"].pk, version="internal", **PERIOD)
    owner, siae, stranger = history["owner"], history["siae"], history["stranger"]
    assert _rows(report) == [
        (owner.organisation.name, "Consultation"),
        (owner.organisation.name, "Modification"),
        (siae.organisation.name, "Liste"),
        (siae.organisation.name, "Consultation"),
        (stranger.organisation.name, "Accès refusé"),
        (siae.organisation.name, "Accès d'urgence"),
    ]
    assert report.rows[0].user == owner.user.get_full_name()
    # The bases in words (parcours/labels.py), the mission first: never the code "legal:owner".
    assert report.rows[0].basis.startswith("Mission de la structure qui détient le dossier")
    assert report.rows[-1].purpose == "Adapter le poste dès le premier jour"
    assert report.rows[-1].categories == "Santé et handicap"
    assert report.totals_by_organisation == {
        siae.organisation.name: 3,
        owner.organisation.name: 2,
        stranger.organisation.name: 1,
    }
    # Generating it is itself journaled.
    event = AccessEvent.objects.filter(operation="report").latest("id")
    assert (event.object_type, event.person_id) == ("person", history["person"].pk)
    assert event.detail["version"] == "internal" and event.detail["rows"] == 6


def test_the_person_version_hides_staff_names_and_internal_ids(history):
    report = access_report_generate(person_id=history["person"].pk, version="person", **PERIOD)
    assert len(report.rows) == 6
    names = {history[k].user.get_full_name() for k in ("owner", "siae", "stranger")}
    for row in report.rows:
        assert row.user == PERSON_VERSION_STAFF
        assert row.user not in names
        assert ":" not in row.basis  # "votre accord", not "consent:12"
    assert "une mission prévue par la loi" in report.rows[0].basis


def test_the_period_bounds_the_report(history):
    later = {"start": PERIOD["end"], "end": PERIOD["end"] + dt.timedelta(days=30)}
    assert (
        access_report_generate(person_id=history["person"].pk, version="internal", **later).rows
        == []
    )


def test_csv_columns_and_the_command(history, tmp_path, capsys):
    output = tmp_path / "rapport.csv"
    call_command(
        "access_report",
        "--person",
        str(history["person"].pk),
        "--audience",
        "person",
        "--output",
        str(output),
    )
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8")), delimiter=";"))
    assert rows[0] == CSV_COLUMNS
    assert len(rows) == 7
    assert {row[2] for row in rows[1:]} == {PERSON_VERSION_STAFF}
    assert "6 accès" in capsys.readouterr().err


def test_the_command_refuses_bad_input_in_french(history):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="introuvable"):
        call_command("access_report", "--person", "999999")
    with pytest.raises(CommandError, match="Date invalide"):
        call_command("access_report", "--person", str(history["person"].pk), "--from", "hier")
