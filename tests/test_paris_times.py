"""Times in front of people are Paris times (issue 13): the database's UTC values are converted
wherever a document formats them itself (the PDFs and the DPO's integrity statement)."""

import datetime as dt

from parcours.exports.subject_access import _when
from parcours.selectors.journal_integrity import _date

SUMMER_NOON_IN_PARIS = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)  # UTC+2
WINTER_LATE_EVENING = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)  # UTC+1: next day


def test_the_subject_access_pack_shows_paris_times():
    assert _when(SUMMER_NOON_IN_PARIS.isoformat()) == "01/07/2026 12:00"
    assert _when(WINTER_LATE_EVENING.isoformat()) == "01/01/2027 00:30"
    assert _when("1990-05-17") == "17/05/1990"  # a date stays that date


def test_the_integrity_statement_shows_paris_times():
    assert _date(SUMMER_NOON_IN_PARIS) == "01/07/2026 12:00"
    assert _date(WINTER_LATE_EVENING) == "01/01/2027 00:30"
    assert _date(None) == "—"
