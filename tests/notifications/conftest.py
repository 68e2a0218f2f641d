"""Journeys of a referral through the real services, on a controlled clock."""

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from parcours.actor import Actor
from parcours.models import Referral, Role
from parcours.services import referral as referral_services
from tests.factories import (
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    valid_nir,
)

PARIS = ZoneInfo("Europe/Paris")


@dataclass
class Journey:
    """A France Travail counsellor refers Léa Martin to an SIAE; each step runs at `at`."""

    sender: Actor
    receiver: Actor
    referral: Referral
    sent_at: dt.datetime
    steps: list[str] = field(default_factory=list)

    def _at(self, at: dt.datetime):
        return time_machine.travel(at, tick=False)

    def accept(self, at: dt.datetime) -> "Journey":
        with self._at(at):
            referral_services.referral_accept(actor=self.receiver, referral_id=self.referral.pk)
        return self.refresh()

    def book(self, at: dt.datetime, starts_at: dt.datetime) -> "Journey":
        with self._at(at):
            referral_services.referral_set_appointment(
                actor=self.receiver, referral_id=self.referral.pk, starts_at=starts_at
            )
        return self.refresh()

    def record_no_show(self, at: dt.datetime) -> "Journey":
        with self._at(at):
            referral_services.referral_record_no_show(
                actor=self.receiver, referral_id=self.referral.pk
            )
        return self.refresh()

    def record_attendance(self, at: dt.datetime) -> "Journey":
        with self._at(at):
            referral_services.referral_record_attendance(
                actor=self.receiver, referral_id=self.referral.pk
            )
        return self.refresh()

    def refuse(self, at: dt.datetime) -> "Journey":
        with self._at(at):
            referral_services.referral_refuse(
                actor=self.receiver, referral_id=self.referral.pk, refusal_reason="no_capacity"
            )
        return self.refresh()

    def refresh(self) -> "Journey":
        self.referral.refresh_from_db()
        return self

    @property
    def sender_email(self) -> str:
        return self.sender.user.email

    @property
    def receiver_contact(self) -> str:
        return self.receiver.organisation.contact_email

    @property
    def receiver_email(self) -> str:
        return self.receiver.user.email


@pytest.fixture
def journey(db):
    """Build a sent referral at `sent_at` (a real referral_create, stamped by the services)."""
    counter = iter(range(1, 10_000))

    def build(sent_at: dt.datetime, *, with_managers: bool = False) -> Journey:
        n = next(counter)
        with time_machine.travel(sent_at, tick=False):
            france_travail = OrganisationFactory(name=f"France Travail Arras {n}")
            siae = OrganisationFactory(siae=True, name=f"Chantier Les Jardins {n}")
            sender_membership = MembershipFactory(organisation=france_travail)
            receiver_membership = MembershipFactory(organisation=siae)
            sender = Actor(sender_membership.user, france_travail, Role.COUNSELLOR)
            receiver = Actor(receiver_membership.user, siae, Role.COUNSELLOR)
            if with_managers:
                MembershipFactory(organisation=france_travail, role=Role.MANAGER)
                MembershipFactory(organisation=siae, role=Role.MANAGER)
            person = PersonFactory(
                first_name="Léa",
                last_name="Martin",
                nir=valid_nir(500 + n),
                rqth=True,
                court_supervision=True,
                phone="0612345678",
            )
            pathway = PathwayFactory(person=person, owner_organisation=france_travail)
            ConsentFactory(person=person, organisations=[siae], categories=["identity", "pathway"])
            referral = referral_services.referral_create(
                actor=sender,
                pathway_id=pathway.pk,
                receiver_organisation_id=siae.pk,
                kind="substitution",
                reason="Reprise d'activité après une période de soins",
                context_note="Suivi psychiatrique en cours, sous main de justice",
            )
        return Journey(sender=sender, receiver=receiver, referral=referral, sent_at=sent_at)

    return build


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def real_past(days: int) -> dt.datetime:
    """A moment `days` ago at 10:00 (worker tests: deadlines behind the real clock). Before
    10:00 (Paris), "today at 10:00" is still ahead: every moment then counts from yesterday's
    10:00, so `real_past(0)` is always behind the clock and the moments keep their order."""
    now = timezone.localtime()
    ten = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if ten > now:
        ten -= dt.timedelta(days=1)
    return ten - dt.timedelta(days=days)


def answers_relayed(expected: int) -> None:
    """In this process: the sender heard of each of the receiver's moves at once (issue 14) —
    `expected` answer e-mails, and only those, are sent; then they are put aside, so a test of
    another e-mail reads its own."""
    from notifications.models import OutboxKind, OutboxMessage
    from notifications.services.relay import outbox_relay

    before = set(OutboxMessage.objects.filter(status="sent").values_list("pk", flat=True))
    assert outbox_relay().sent == expected
    sent = OutboxMessage.objects.filter(status="sent").exclude(pk__in=before)
    assert set(sent.values_list("kind", flat=True)) <= {OutboxKind.ANSWER}
    mail.outbox.clear()


def answers_delivered(sink) -> None:
    """With a real worker: the relay woken by the receiver's moves (issue 14) has sent the
    sender's answer e-mails; the sink then forgets them, so a test of alerts counts alerts.

    Each move queued its own wake-up and the first one sent every answer: the others may still
    be queued, and one running after the test writes its alerts would send them early (seen on a
    clean clone). A relay queued now behind them (same queue, solo worker: in order) and waited
    for leaves the relay idle."""
    from notifications.models import OutboxKind, OutboxMessage
    from notifications.tasks import outbox_relay
    from tests.processes import wait_until

    wait_until(
        lambda: (
            not OutboxMessage.objects.filter(kind=OutboxKind.ANSWER).exclude(status="sent").exists()
        ),
        what="the answers' e-mails to the sender",
    )
    outbox_relay.delay().get(timeout=60)
    sink.reset()


# --- A private broker and SMTP server (the fault and worker tests) -----------------------------


@pytest.fixture
def redis_server():
    """A Redis server of the test's own, which the test may stop and restart."""
    from tests.processes import PrivateRedis

    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.fixture
def sink():
    """An SMTP server of the test's own (released if a test left it stalled)."""
    from .smtp_sink import SmtpSink

    private = SmtpSink().start()
    yield private
    private.release()
    private.stop()


@pytest.fixture
def smtp(sink, settings):
    """This process's e-mail goes to the test's own SMTP server (the relay runs in process)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return sink
