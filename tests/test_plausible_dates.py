"""Dates are checked against what they mean, in the services, for every door (issue 13): a
birth date in the past and plausible, an appointment ahead (and not years ahead), an absence or
a venue recorded once the appointment has begun, a DPO report's days and a rights request's
reception day within what parcours can hold — a French field error, never a 500 from the
calendar arithmetic."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from notifications.models import Alert, OutboxMessage
from parcours.dates import EARLIEST_REPORT_DAY, PeriodError, report_period
from parcours.errors import InvalidInput
from parcours.models import (
    AppointmentOutcome,
    Person,
    ReferralStatus,
    RightsRequest,
    Role,
)
from parcours.selectors.anomalies import AnomalyThresholds
from parcours.services.dpo_reports import dpo_anomalies_report
from parcours.services.person import MINIMUM_AGE, person_create, person_update
from parcours.services.referral import (
    referral_record_attendance,
    referral_record_no_show,
    referral_set_appointment,
)
from parcours.services.rights_request import rights_request_record

from .factories import (
    AppointmentFactory,
    PathwayFactory,
    ReferralFactory,
    valid_nir,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)
NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def _years_before(day: dt.date, years: int) -> dt.date:
    return day.replace(year=day.year - years)


# --- birth date ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        (dt.date(2031, 12, 31), "La date de naissance ne peut pas être dans le futur."),
        (TODAY + dt.timedelta(days=1), "La date de naissance ne peut pas être dans le futur."),
        (dt.date(9999, 12, 31), "La date de naissance ne peut pas être dans le futur."),
        (
            _years_before(TODAY, MINIMUM_AGE) + dt.timedelta(days=1),
            "La personne doit avoir au moins 15 ans : vérifiez l'année de naissance.",
        ),
        (dt.date(1899, 12, 31), "La date de naissance doit être postérieure à 1900."),
        (dt.date(1, 1, 1), "La date de naissance doit être postérieure à 1900."),
    ],
)
def test_an_implausible_birth_date_is_a_field_error(clock, counsellor, birth_date, message):
    with pytest.raises(ValidationError) as refused:
        person_create(
            actor=counsellor, first_name="Inès", last_name="Durand", birth_date=birth_date
        )
    assert refused.value.message_dict == {"birth_date": [message]}
    assert not Person.objects.exists()


def test_a_person_of_the_minimum_age_is_created(clock, counsellor):
    person = person_create(
        actor=counsellor,
        first_name="Inès",
        last_name="Durand",
        birth_date=_years_before(TODAY, MINIMUM_AGE),
    )
    assert person.age() == MINIMUM_AGE


def test_every_wrong_field_is_named_at_once(clock, counsellor):
    """The model's validators and the birth date's plausibility in one error: a form shows all
    of them together instead of one per attempt."""
    with pytest.raises(ValidationError) as refused:
        person_create(
            actor=counsellor,
            first_name="Inès",
            last_name="Durand",
            birth_date=dt.date(2031, 1, 1),
            nir="123",
            france_travail_id="12",
        )
    assert set(refused.value.message_dict) == {"birth_date", "nir", "france_travail_id"}


def test_rectifying_to_a_future_birth_date_is_refused(clock, counsellor):
    person = person_create(
        actor=counsellor,
        first_name="Inès",
        last_name="Durand",
        birth_date=dt.date(1991, 2, 3),
        nir=valid_nir(3),
    )
    with pytest.raises(ValidationError) as refused:
        person_update(
            actor=counsellor, person_id=person.pk, changes={"birth_date": dt.date(2030, 1, 1)}
        )
    assert list(refused.value.message_dict) == ["birth_date"]
    person.refresh_from_db()
    assert person.birth_date == dt.date(1991, 2, 3)
    assert person.history.count() == 1


# --- appointments -------------------------------------------------------------------------------


@pytest.fixture
def receiver(make_actor):
    return make_actor(siae=True)


def _received(receiver, **state):
    return ReferralFactory(
        pathway=PathwayFactory(), receiver_organisation=receiver.organisation, **state
    )


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        (NOON - dt.timedelta(minutes=1), "Un rendez-vous se fixe à venir : cette date est passée."),
        (
            dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC),
            "Un rendez-vous se fixe à venir : cette date est passée.",
        ),
        (
            dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            "Un rendez-vous se fixe à venir : cette date est passée.",
        ),
        (NOON + dt.timedelta(days=366), "Un rendez-vous se fixe au plus un an à l'avance."),
        # Its no-show grace would overflow the calendar: refused before any arithmetic.
        (
            dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC),
            "Un rendez-vous se fixe au plus un an à l'avance.",
        ),
    ],
)
def test_an_appointment_is_set_ahead(clock, receiver, starts_at, message):
    referral = _received(receiver, accepted=True)
    with pytest.raises(InvalidInput) as refused:
        referral_set_appointment(actor=receiver, referral_id=referral.pk, starts_at=starts_at)
    assert refused.value.fields == {"starts_at": [message]}
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED
    assert not referral.appointments.exists()


@pytest.mark.parametrize(
    "starts_at",
    [NOON, NOON + dt.timedelta(seconds=30), NOON + dt.timedelta(days=365)],
    ids=["this-minute", "later-this-minute", "a-year-ahead"],
)
def test_an_appointment_from_this_minute_to_a_year_ahead_is_set(clock, receiver, starts_at):
    """A form gives minutes: « now » typed a few seconds into the minute is not the past."""
    clock.move_to(NOON + dt.timedelta(seconds=40))
    referral = _received(receiver, accepted=True)
    appointment = referral_set_appointment(
        actor=receiver, referral_id=referral.pk, starts_at=starts_at
    )
    assert appointment.outcome == AppointmentOutcome.PENDING


@pytest.mark.parametrize(
    "record", [referral_record_no_show, referral_record_attendance], ids=["no-show", "attendance"]
)
def test_the_outcome_is_recorded_once_the_appointment_has_begun(clock, receiver, record):
    referral = _received(receiver, appointment_set=True)
    appointment = AppointmentFactory(referral=referral, starts_at=NOON + dt.timedelta(days=1))
    alerts, mail = Alert.objects.count(), OutboxMessage.objects.count()

    with pytest.raises(InvalidInput) as refused:
        record(actor=receiver, referral_id=referral.pk)
    assert refused.value.message == (
        "Le rendez-vous n'a pas encore eu lieu (11/03/2026 à 13:00) : sa venue ou l'absence de "
        "la personne se constate à partir de son heure."
    )
    referral.refresh_from_db()
    appointment.refresh_from_db()
    assert referral.status == ReferralStatus.APPOINTMENT_SET
    assert appointment.outcome == AppointmentOutcome.PENDING
    # Nobody is told anything about an appointment that has not happened.
    assert (Alert.objects.count(), OutboxMessage.objects.count()) == (alerts, mail)

    clock.move_to(appointment.starts_at)
    record(actor=receiver, referral_id=referral.pk)
    appointment.refresh_from_db()
    assert appointment.outcome != AppointmentOutcome.PENDING


# --- the DPO's report periods and rights requests -----------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (dt.date(1, 1, 1), None, "first_day"),
        (None, dt.date(1, 1, 1), "last_day"),
        (None, dt.date(9999, 12, 31), "last_day"),
        (dt.date(9999, 12, 31), dt.date(9999, 12, 31), "first_day"),
        (dt.date(1999, 12, 31), TODAY, "first_day"),
        (TODAY, TODAY + dt.timedelta(days=367), "last_day"),
        (TODAY, TODAY - dt.timedelta(days=1), "first_day"),
    ],
)
def test_a_report_period_out_of_bounds_names_its_day(clock, first, last, field):
    with pytest.raises(PeriodError) as refused:
        report_period(first, last)
    assert refused.value.field == field
    assert str(refused.value)  # French, shown on the form's field


def test_a_report_period_within_bounds(clock):
    period = report_period(EARLIEST_REPORT_DAY, TODAY + dt.timedelta(days=366))
    assert period.first_day == EARLIEST_REPORT_DAY
    # The default start never goes before the earliest day a report may name.
    assert report_period(None, dt.date(2000, 6, 1)).first_day == EARLIEST_REPORT_DAY


@pytest.mark.parametrize(
    ("received_on", "message"),
    [
        (dt.date(1, 1, 1), "La date de réception doit être postérieure au 01/01/2000."),
        (dt.date(9999, 12, 31), "La date de réception ne peut pas être future."),
    ],
)
def test_a_rights_request_received_on_an_absurd_day(clock, make_actor, received_on, message):
    dpo = make_actor(role=Role.DPO)
    person = PathwayFactory(owner_organisation=dpo.organisation).person
    with pytest.raises(InvalidInput) as refused:
        rights_request_record(
            actor=dpo, person_id=person.pk, kind="access", channel="desk", received_on=received_on
        )
    assert refused.value.fields == {"received_on": [message]}
    assert not RightsRequest.objects.exists()


def test_a_report_from_the_first_day_to_the_last_does_not_overflow(clock, make_actor):
    """The anomalies' baseline starts days before the period: still a date at 2000-01-01."""
    dpo = make_actor(role=Role.DPO)
    period = report_period(EARLIEST_REPORT_DAY, TODAY + dt.timedelta(days=366))
    findings = dpo_anomalies_report(
        actor=dpo, start=period.start, end=period.end, thresholds=AnomalyThresholds.from_settings()
    )
    assert findings == []


def test_a_pending_appointment_whose_time_has_come_is_no_longer_coming(clock, receiver):
    from django.test import Client
    from django.urls import reverse

    past = _received(receiver, appointment_set=True)
    AppointmentFactory(referral=past, starts_at=NOON - dt.timedelta(hours=1))
    coming = _received(receiver, appointment_set=True)
    AppointmentFactory(referral=coming, starts_at=NOON + dt.timedelta(hours=1))
    client = Client()
    client.force_login(receiver.user)

    page = client.get(reverse("web:referral-detail", args=[past.pk])).content.decode()
    assert "Venue à constater" in page and "À venir" not in page
    page = client.get(reverse("web:referral-detail", args=[coming.pk])).content.decode()
    assert "À venir" in page and "Venue à constater" not in page


@pytest.mark.parametrize(
    ("starts_on", "ends_on"), [(None, "9999-12-31"), ("9999-12-31", "9999-12-31")]
)
def test_a_consent_ending_on_the_calendars_last_day_never_ends(
    make_actor, client_for, starts_on, ends_on
):
    """Its end of day overflowed the calendar: a 500 on the consent and on every recompute of
    the person's pathways (the API accepts any day there: no rule bounds a consent's dates)."""
    owner, receiver = make_actor(), make_actor(siae=True)
    pathway = PathwayFactory(owner_organisation=owner.organisation)
    ReferralFactory(
        pathway=pathway, receiver_organisation=receiver.organisation, sent=True, with_consent=False
    )
    payload = {
        "person": pathway.person_id,
        "organisations": [receiver.organisation.pk],
        "categories": ["contact"],
        "purpose": "Coordination",
        "evidence_kind": "oral",
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    response = client_for(owner).post("/api/v1/consents/", payload, format="json")
    assert response.status_code == 201, response.content
    assert client_for(receiver).get(f"/api/v1/persons/{pathway.person_id}/").status_code == 200
