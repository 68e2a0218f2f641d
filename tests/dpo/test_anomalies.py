"""The anomaly report: each rule fires on its evidence and stays quiet below its threshold."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from parcours.models import AccessEvent, AccessRequest, AccessRequestStatus, Role
from parcours.selectors.anomalies import AnomalyThresholds, anomalies_report
from tests.factories import PathwayFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
# A Wednesday, no public holiday; its Saturday; and 14 July (a public holiday, a Tuesday).
WEDNESDAY = dt.date(2026, 6, 10)
SATURDAY = dt.date(2026, 6, 13)
BASTILLE_DAY = dt.date(2026, 7, 14)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def event(actor, when, operation="read", person_id=None, **extra):
    return AccessEvent.objects.create(
        occurred_at=when,
        user=actor.user,
        organisation=actor.organisation,
        operation=operation,
        object_type=extra.pop("object_type", "person"),
        object_id=extra.pop("object_id", person_id),
        person_id=person_id,
        **extra,
    )


@pytest.fixture
def team(make_actor):
    alice = make_actor(name="Département du Pas-de-Calais", role=Role.SOCIAL_WORKER)
    bob = make_actor(organisation=alice.organisation, role=Role.SOCIAL_WORKER)
    carol = make_actor(organisation=alice.organisation, role=Role.SOCIAL_WORKER)
    other = make_actor(name="Cap emploi 62")
    return {"alice": alice, "bob": bob, "carol": carol, "other": other}


def report(team, day_from, day_to, **overrides):
    return anomalies_report(
        start=at(day_from, 0),
        end=at(day_to + dt.timedelta(days=1), 0),
        organisation_ids=[team["alice"].organisation.pk],
        thresholds=AnomalyThresholds.from_settings(**overrides),
    )


def _usual_days(team, people_per_day=3, days=10):
    """Ten working days before WEDNESDAY where everyone reads a few people's records."""
    for n in range(1, days + 1):
        day = WEDNESDAY - dt.timedelta(days=n)
        for name in ("alice", "bob", "carol"):
            for p in range(people_per_day):
                event(team[name], at(day, 10, p), person_id=1000 + p)


def test_volume_compared_with_own_and_peers_median(team):
    _usual_days(team)
    for p in range(40):
        event(team["alice"], at(WEDNESDAY, 9, p % 60), person_id=2000 + p)
    for p in range(5):  # bob: a little more than usual, nowhere near the threshold
        event(team["bob"], at(WEDNESDAY, 9, p), person_id=3000 + p)
    findings = [f for f in report(team, WEDNESDAY, WEDNESDAY) if f.kind == "volume"]
    assert len(findings) == 1
    finding = findings[0]
    assert finding.user_id == team["alice"].user.pk
    assert finding.day == WEDNESDAY
    assert finding.summary.startswith("40 personnes différentes consultées le 10/06/2026")
    assert "sa médiane : 3" in finding.summary and "médiane de ses pairs : 3" in finding.summary
    assert finding.evidence_total == 40
    assert {row.person for row in finding.evidence} == {f"personne n°{2000 + p}" for p in range(40)}


def test_volume_needs_the_minimum_and_the_factor(team):
    _usual_days(team, people_per_day=10)
    for p in range(25):  # 25 > 20 (minimum) but < 3 × 10
        event(team["alice"], at(WEDNESDAY, 9, p), person_id=2000 + p)
    assert not [f for f in report(team, WEDNESDAY, WEDNESDAY) if f.kind == "volume"]
    lowered = report(team, WEDNESDAY, WEDNESDAY, volume_factor=2.0)
    assert [f.user_id for f in lowered if f.kind == "volume"] == [team["alice"].user.pk]


def test_access_outside_working_hours_weekends_and_holidays(team):
    event(team["alice"], at(WEDNESDAY, 10), person_id=1)  # working hours: nothing
    event(team["alice"], at(WEDNESDAY, 22, 30), person_id=2)
    event(team["alice"], at(WEDNESDAY, 23, 5), person_id=3)
    event(team["bob"], at(SATURDAY, 11), person_id=4)
    event(team["carol"], at(BASTILLE_DAY, 10), person_id=5)
    event(team["other"], at(WEDNESDAY, 23), person_id=6)  # another organisation: not in scope
    findings = [f for f in report(team, WEDNESDAY, BASTILLE_DAY) if f.kind == "off_hours"]
    assert [(f.user_id, f.day, f.evidence_total) for f in findings] == [
        (team["alice"].user.pk, WEDNESDAY, 2),
        (team["bob"].user.pk, SATURDAY, 1),
        (team["carol"].user.pk, BASTILLE_DAY, 1),
    ]
    assert findings[0].summary == (
        "2 accès le 10/06/2026 (en dehors des heures ouvrées, de 22:30 à 23:05)"
    )
    assert "jour non ouvré" in findings[2].summary


def test_repeated_denials(team):
    for minute in range(3):
        event(team["alice"], at(WEDNESDAY, 10, minute), operation="denied", person_id=7)
    for minute in range(2):
        event(team["bob"], at(WEDNESDAY, 10, minute), operation="denied", person_id=8)
    findings = [f for f in report(team, WEDNESDAY, WEDNESDAY) if f.kind == "denials"]
    assert [(f.user_id, f.evidence_total) for f in findings] == [(team["alice"].user.pk, 3)]
    assert findings[0].summary == "3 accès refusés le 10/06/2026"


def test_every_break_glass_and_refused_access_request(team):
    event(
        team["alice"],
        at(WEDNESDAY, 11),
        operation="break_glass",
        person_id=9,
        object_type="pathway",
        purpose="Urgence : hébergement",
    )
    pathway = PathwayFactory(person=PersonFactory(), owner_organisation=team["other"].organisation)
    request = AccessRequest.objects.create(
        pathway=pathway,
        requesting_organisation=team["alice"].organisation,
        requested_by=team["alice"].user,
        reason="La personne s'est présentée",
        status=AccessRequestStatus.REFUSED,
        decided_at=at(WEDNESDAY, 15),
        decided_by=UserFactory(),
    )
    event(
        team["alice"],
        at(WEDNESDAY, 14),
        operation="access_request",
        object_type="pathway",
        object_id=pathway.pk,
        person_id=pathway.person_id,
        detail={"access_request": request.pk},
    )
    findings = report(team, WEDNESDAY, WEDNESDAY)
    kinds = [f.kind for f in findings]
    assert kinds == ["break_glass", "access_request_refused"]
    assert "motif : Urgence : hébergement" in findings[0].summary
    refused = findings[1]
    assert refused.summary.startswith(f"Demande d'accès n°{request.pk} au parcours")
    assert refused.evidence_total == 1 and refused.evidence[0].operation == "Demande d'accès"


def test_the_api_report_takes_thresholds_and_journals_itself(team, client_for, make_actor):
    _usual_days(team)
    for p in range(40):
        event(team["alice"], at(WEDNESDAY, 9, p % 60), person_id=2000 + p)
    dpo = make_actor(organisation=team["alice"].organisation, role=Role.DPO)
    client = client_for(dpo)
    params = {"from": WEDNESDAY.isoformat(), "to": WEDNESDAY.isoformat()}
    body = client.get("/api/v1/dpo/anomalies/", params).json()
    assert [f["kind"] for f in body["findings"]] == ["volume"]
    assert body["thresholds"]["volume_factor"] == 3.0
    quiet = client.get("/api/v1/dpo/anomalies/", {**params, "volume_min_people": 50}).json()
    assert quiet["findings"] == []
    bad = client.get("/api/v1/dpo/anomalies/", {**params, "volume_factor": "beaucoup"})
    assert bad.status_code == 400 and "volume_factor" in bad.json()
    journaled = AccessEvent.objects.filter(operation="report", object_type="anomalies")
    assert journaled.count() == 2
    csv_text = client.get("/api/v1/dpo/anomalies/", {**params, "export": "csv"}).content
    lines = csv_text.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 40  # one line per evidence row
    assert lines[1].startswith("Volume inhabituel de dossiers consultés;2026-06-10;")
    # Another organisation's DPO does not see this organisation's staff.
    stranger_dpo = make_actor(organisation=team["other"].organisation, role=Role.DPO)
    assert client_for(stranger_dpo).get("/api/v1/dpo/anomalies/", params).json()["findings"] == []
