"""Every Celery task of the project, queued through a real broker to a real worker.

Finding 3 of issue 12 was a task Celery refused to queue (its hard limit was below the global
soft limit), which no test noticed because the tests called tasks directly or captured their
on-commit callbacks without running them. Here each task registered under `parcours.` or
`notifications.` is queued with `apply_async` — never called, never eager — with valid
arguments, on a Redis of the test's own, to a worker process started for the test, and must end
in SUCCESS with its effect visible in the database.

A task without a case below fails `test_every_registered_task_has_a_case`: add one.
"""

import datetime as dt
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from celery import Celery
from celery.backends.redis import RedisBackend
from celery.states import READY_STATES, SUCCESS
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from kombu import Connection

from backend.celery import app
from notifications.models import (
    Alert,
    NotificationPreference,
    OutboxKind,
    OutboxMessage,
    Reminder,
    ReminderState,
)
from notifications.services.alerts import alerts_scan as scan_in_process
from parcours import access
from parcours.checks import (
    PROJECT_TASK_PREFIXES,
    beat_entry_errors,
    project_tasks,
    task_limit_errors,
    task_limits,
)
from parcours.gate.journal import journal_record
from parcours.journal_partitions import month_start, next_month, partition_name
from parcours.models import (
    AccessEvent,
    AccessOperation,
    JournalCheckpoint,
    JournalVerification,
    Pathway,
    PathwayGroupObjectPermission,
    PendingRecompute,
    Referral,
    ReferralFigureRefresh,
    ReferralMonthlyFigure,
    ReferralStatus,
    Role,
)
from parcours.services.access_grants import access_recompute_request
from parcours.services.break_glass import break_glass_open
from parcours.services.journal import journal_seal_all, journal_unsealed_count
from tests.factories import (
    AgreementFactory,
    CareTeamMemberFactory,
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    ReferralFactory,
)
from tests.processes import start_worker, stop, wait_until


@dataclass
class Case:
    """Valid keyword arguments for the task, and the check of its return value and effect."""

    kwargs: dict[str, Any]
    check: Callable[[Any], None]


# Task name → a function arranging the data its run needs (in the test's database, before it
# is queued) and returning the Case.
CASES: dict[str, Callable[..., Case]] = {}


def case(name: str):
    def register(arrange: Callable[..., Case]) -> Callable[..., Case]:
        CASES[name] = arrange
        return arrange

    return register


@case("notifications.alerts_scan")
def _alerts_scan(make_actor, sink) -> Case:
    referral = ReferralFactory(sent=True)  # its answer is overdue (acknowledge_due_at passed)

    def check(report: dict) -> None:
        assert report["raised"]["unanswered"] == 1
        assert Alert.objects.filter(referral=referral, kind="unanswered").exists()

    return Case({"now": timezone.now().isoformat()}, check)


@case("notifications.digests_send")
def _digests_send(make_actor, sink) -> Case:
    referral = ReferralFactory(sent=True)
    # The sender, still a member of the sending organisation, chose the daily digest.
    MembershipFactory(user=referral.sender_user, organisation=referral.sender_organisation)
    NotificationPreference.objects.create(user=referral.sender_user, mode="digest")
    scan_in_process(now=timezone.now())  # the sender's alert waits for the digest

    def check(written: int) -> None:
        assert written == 1
        assert OutboxMessage.objects.filter(
            kind=OutboxKind.DIGEST, user=referral.sender_user
        ).exists()

    return Case({"now": timezone.now().isoformat()}, check)


@case("notifications.reminders_send")
def _reminders_send(make_actor, sink) -> Case:
    referral = ReferralFactory(sent=True)
    counsellor = MembershipFactory(
        organisation=referral.receiver_organisation, role=Role.COUNSELLOR
    )
    now = timezone.now()
    # Scheduled by the send (a move through the services); here written as it would be.
    reminder = Reminder.objects.create(
        referral=referral,
        deadline="acknowledge",
        due_at=now + dt.timedelta(hours=2),
        remind_at=now - dt.timedelta(hours=1),
        created_at=now - dt.timedelta(days=2),
    )

    def check(report: dict) -> None:
        assert report == {"notified": 1, "cancelled": 0, "messages": 1}
        reminder.refresh_from_db()
        assert reminder.state == ReminderState.NOTIFIED
        assert OutboxMessage.objects.get(reminder=reminder).to_email == counsellor.user.email

    return Case({"now": now.isoformat()}, check)


@case("notifications.rights_end_warnings_raise")
def _rights_end_warnings_raise(make_actor, sink) -> Case:
    referent = MembershipFactory(role=Role.COUNSELLOR)
    pathway = PathwayFactory(owner_organisation=referent.organisation, referent=referent.user)
    person = pathway.person
    person.rights_ending = True
    person.rights_end_date = timezone.localdate() + dt.timedelta(days=20)
    person.save(update_fields=["rights_ending", "rights_end_date"])

    def check(report: dict) -> None:
        assert report == {"warnings": 1, "messages": 1}
        message = OutboxMessage.objects.get(kind=OutboxKind.RIGHTS_END)
        assert message.to_email == referent.user.email
        assert message.rights_end_warning.pathway_id == pathway.pk

    return Case({"now": timezone.now().isoformat()}, check)


@case("notifications.outbox_relay")
def _outbox_relay(make_actor, sink) -> Case:
    referral = ReferralFactory(sent=True)
    receiver = make_actor(organisation=referral.receiver_organisation)
    dpo = MembershipFactory(organisation=receiver.organisation, role=Role.DPO)
    grant = break_glass_open(
        actor=receiver,
        pathway_id=referral.pathway_id,
        category="health",
        reason="Adapter le poste de travail dès le premier jour",
    )
    # (The opening also wakes the relay: whichever pass sends the notice, it is sent once.)

    def check(report: dict) -> None:
        wait_until(lambda: sink.to(dpo.user.email), what="the DPO's notice")
        assert len(sink.to(dpo.user.email)) == 1
        assert OutboxMessage.objects.get(break_glass=grant).status == "sent"

    return Case({}, check)


@case("parcours.journal_seal_pending")
def _journal_seal_pending(make_actor, sink) -> Case:
    actor = make_actor()
    for _ in range(3):
        journal_record(actor=actor, operation=AccessOperation.READ, object_type="pathway")

    def check(sealed: int) -> None:
        assert sealed >= 3
        assert journal_unsealed_count() == 0

    return Case({}, check)


@case("parcours.journal_checkpoint_scheduled")
def _journal_checkpoint_scheduled(make_actor, sink) -> Case:
    actor = make_actor()
    for _ in range(2):
        journal_record(actor=actor, operation=AccessOperation.READ, object_type="pathway")
    journal_seal_all()  # a head to sign (the worker has the key: JOURNAL_SIGNING_KEY_FILE)

    def check(signed: int | None) -> None:
        head = JournalCheckpoint.objects.order_by("-chain_seq").first()
        assert signed is not None and head is not None and head.chain_seq == signed

    return Case({}, check)


@case("parcours.journal_partitions_ensure")
def _journal_partitions_ensure(make_actor, sink) -> Case:
    """The furthest month ahead is dropped here (empty: nothing is journaled in the future);
    the task makes it again, with the guard's TRUNCATE trigger."""
    table = AccessEvent._meta.db_table
    furthest_month = month_start(timezone.now())
    for _ in range(settings.JOURNAL_PARTITION_MONTHS_AHEAD):
        furthest_month = next_month(furthest_month)
    furthest = partition_name(table, furthest_month)
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}" DETACH PARTITION "{furthest}"')
        cursor.execute(f'DROP TABLE "{furthest}"')

    def check(created: int) -> None:
        assert created == 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%s) "
                "AND tgname = 'parcours_journal_guard_truncate'",
                [furthest],
            )
            assert cursor.fetchone()[0] == 1

    return Case({}, check)


@case("parcours.journal_verify_daily")
def _journal_verify_daily(make_actor, sink) -> Case:
    def check(ok: bool) -> None:
        assert ok is True
        assert JournalVerification.objects.get(triggered_by="every-task test").ok

    return Case({"triggered_by": "every-task test"}, check)


@case("parcours.retention_apply")
def _retention_apply(make_actor, sink) -> Case:
    stale = PathwayFactory(opened_at=timezone.now() - dt.timedelta(days=3 * 365))

    def check(report: dict) -> None:
        assert report["archived"] == 1 and report["complete"]
        assert Pathway.objects.get(pk=stale.pk).archived_at is not None

    return Case({"now": timezone.now().isoformat()}, check)


@case("parcours.referral_figures_refresh")
def _referral_figures_refresh(make_actor, sink) -> Case:
    referral = ReferralFactory(refused=True)  # sent 19 days ago: a month the run recomputes
    # A full run on record: the nightly run is incremental (without one it would be full).
    earlier = timezone.now() - dt.timedelta(days=1)
    ReferralFigureRefresh.objects.create(started_at=earlier, finished_at=earlier, full=True)

    def check(report: dict) -> None:
        # The other cases' referrals are counted too (one database for every case).
        assert report["cells"] >= 1 and not report["full"]
        cell = ReferralMonthlyFigure.objects.get(
            sender_organisation_id=referral.sender_organisation_id
        )
        assert (cell.sent, cell.refused, cell.refused_no_capacity) == (1, 1, 1)

    return Case({}, check)


@case("parcours.tasks.access_prune_expired")
def _access_prune_expired(make_actor, sink) -> Case:
    with time_machine.travel(timezone.now() - dt.timedelta(days=5)):
        pathway = PathwayFactory()
        member = CareTeamMemberFactory(pathway=pathway, organisation__siae=True)
        ConsentFactory(
            person=pathway.person,
            organisations=[member.organisation],
            ends_on=timezone.localdate() + dt.timedelta(days=2),  # three days ago, really
        )
    expired = PathwayGroupObjectPermission.objects.filter(
        content_object=pathway, valid_until__lte=timezone.now()
    )
    assert expired.exists()

    def check(pruned: int) -> None:
        assert pruned >= 1
        assert not expired.all().exists()

    return Case({}, check)


@case("parcours.tasks.access_recompute_pathways")
def _access_recompute_pathways(make_actor, sink) -> Case:
    owner = OrganisationFactory()
    plie = OrganisationFactory(kind="plie")  # no legal basis of its own
    pathway = PathwayFactory(owner_organisation=owner)
    CareTeamMemberFactory(pathway=pathway, organisation=plie)
    AgreementFactory(parties=[owner, plie], shared_categories=["identity", "social"])
    with transaction.atomic():  # as the agreement's service does, without queueing anything
        access_recompute_request(organisation_ids=[owner.pk, plie.pk])
    counsellor = make_actor(organisation=plie)

    def check(recomputed: int) -> None:
        assert recomputed == 1
        assert not PendingRecompute.objects.exists()
        assert access.categories_for(counsellor, [pathway.pk])[pathway.pk] == {
            "identity",
            "social",
        }

    return Case({}, check)


@case("parcours.tasks.referrals_expire_unanswered")
def _referrals_expire_unanswered(make_actor, sink) -> Case:
    stale = ReferralFactory(sent=True, sent_at=timezone.now() - dt.timedelta(days=45))

    def check(expired: int) -> None:
        assert expired >= 1
        assert Referral.objects.get(pk=stale.pk).status == ReferralStatus.EXPIRED

    return Case({}, check)


@case("parcours.webhooks_deliver")
def _webhooks_deliver(make_actor, sink) -> Case:
    from parcours.models import WebhookDelivery, WebhookDeliveryStatus
    from parcours.services.webhook_payload import webhook_body
    from parcours.services.webhooks import webhook_subscription_create
    from tests.webhooks.receiver import Receiver

    receiver = Receiver().start()
    referral = ReferralFactory(accepted=True)
    admin = make_actor(organisation=referral.receiver_organisation, role=Role.ADMIN)
    issued = webhook_subscription_create(
        actor=admin, url=receiver.url, description="Logiciel", events=["referral.accepted"]
    )
    receiver.secrets.append(issued.secret)
    # The row a move writes (services/webhooks.py), without the wake-up the move would queue.
    body = webhook_body(
        referral=referral,
        organisation=referral.receiver_organisation,
        event_type="referral.accepted",
        now=timezone.now(),
    )
    assert body is not None
    WebhookDelivery.objects.create(
        subscription=issued.subscription,
        event_type="referral.accepted",
        source_event_id=1,
        referral=referral,
        message_id="msg_every_task",
        body=body.text,
    )

    def check(report: dict) -> None:
        receiver.stop()
        assert report["delivered"] == 1
        assert WebhookDelivery.objects.get().status == WebhookDeliveryStatus.DELIVERED
        [got] = receiver.received
        assert got.verified_with == [issued.secret] and got.fhir_error == ""

    return Case({"now": timezone.now().isoformat()}, check)


@case("parcours.idempotency_keys_purge")
def _idempotency_keys_purge(make_actor, sink) -> Case:
    from parcours.models import IdempotencyKey

    def key(name: str, age: dt.timedelta):
        return IdempotencyKey.objects.create(
            scope="org:1:user:1",
            key=name,
            fingerprint="0" * 64,
            status_code=201,
            response="{}",
            created_at=timezone.now() - age,
        )

    key("old", dt.timedelta(hours=25))
    kept = key("recent", dt.timedelta(hours=1))

    def check(purged: int) -> None:
        assert purged == 1
        assert list(IdempotencyKey.objects.values_list("pk", flat=True)) == [kept.pk]

    return Case({}, check)


@case("parcours.person_sign_in_codes_purge")
def _person_sign_in_codes_purge(make_actor, sink) -> Case:
    from parcours.models import PersonSignInCode
    from tests.factories import PersonFactory

    person = PersonFactory()

    def code(age: dt.timedelta):
        made = timezone.now() - age
        return PersonSignInCode.objects.create(
            person=person,
            code_hash="0" * 64,
            salt="0" * 32,
            created_at=made,
            expires_at=made + dt.timedelta(minutes=10),
        )

    code(dt.timedelta(hours=25))
    kept = code(dt.timedelta(minutes=5))

    def check(purged: int) -> None:
        assert purged == 1
        assert list(PersonSignInCode.objects.values_list("pk", flat=True)) == [kept.pk]

    return Case({}, check)


def test_every_registered_task_has_a_case():
    registered = set(project_tasks())
    assert registered, "no task registered: the apps' ready() import the task modules"
    missing = sorted(registered - set(CASES))
    assert not missing, f"tasks without a case in tests/tasks/test_every_task.py: {missing}"
    assert sorted(set(CASES) - registered) == [], "cases for tasks that no longer exist"


def test_every_task_has_coherent_limits():
    """Soft below hard (else Celery refuses to queue it), hard within the broker's visibility
    timeout; the same rule stops `manage.py check` (parcours/checks.py)."""
    assert task_limit_errors() == []
    for name, task in project_tasks().items():
        soft, hard = task_limits(task)
        assert soft is not None and hard is not None and soft < hard, name
        assert hard <= settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"], name
    assert beat_entry_errors(settings.CELERY_BEAT_SCHEDULE, app.tasks) == []


def test_the_check_catches_the_limits_of_finding_3():
    """A task with only a hard limit, below the global soft limit: what Celery refused."""
    probe = Celery("probe", set_as_current=False)
    probe.conf.update(
        task_time_limit=300,
        task_soft_time_limit=240,
        broker_transport_options={"visibility_timeout": 3600},
    )

    @probe.task(name="notifications.probe_refused", time_limit=60, shared=False)
    def refused() -> None:  # pragma: no cover - never runs
        return None

    @probe.task(name="parcours.probe_too_long", soft_time_limit=4000, time_limit=4200, shared=False)
    def too_long() -> None:  # pragma: no cover - never runs
        return None

    # (The project's shared tasks join every app, the probe too: only the probes matter here.)
    problems = [p for p in task_limit_errors(probe) if ".probe_" in p]
    assert len(problems) == 2
    assert problems[0].startswith("notifications.probe_refused: soft time limit 240 s")
    assert problems[1].startswith("parcours.probe_too_long: hard time limit 4200 s exceeds")
    assert beat_entry_errors({"x": {"task": "parcours.gone"}}, probe.tasks) == [
        "beat entry 'x' names 'parcours.gone', which no module registers"
    ]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_every_task_runs_on_a_real_worker(make_actor, private_broker, mail_sink, tmp_path):
    """A worker of the test's own (started after this test's data exists: a worker process
    caches permission ids, which the flush between transactional tests renumbers)."""
    name = f"every-task-{os.getpid()}"
    key = tmp_path / "journal-signing.pem"  # the scheduled checkpoint signs with it
    call_command("journal_checkpoint", "--generate-key", str(key), stdout=io.StringIO())
    worker = start_worker(
        name=name,
        broker_url=private_broker.url,
        log_path=tmp_path / "worker.log",
        email_url=mail_sink.url,
        JOURNAL_SIGNING_KEY_FILE=str(key),
    )
    results = RedisBackend(app=app, url=private_broker.url)  # where the worker stores them
    try:
        # The web process (this one) knows every task the worker runs, so queueing by name
        # (parcours.queueing) never misses one.
        replies = app.control.inspect(destination=[f"{name}@{os.uname().nodename}"]).registered()
        (worker_tasks,) = replies.values()
        assert {t for t in worker_tasks if t.startswith(PROJECT_TASK_PREFIXES)} == set(
            project_tasks()
        )

        for task_name, task in project_tasks().items():
            assert task_name in CASES, f"{task_name} has no case: add one above"
            run = CASES[task_name](make_actor, mail_sink)
            with Connection(private_broker.url) as connection:
                queued = task.apply_async(kwargs=run.kwargs, connection=connection)
            meta = wait_until(
                lambda queued=queued: (
                    (m := results.get_task_meta(queued.id))["status"] in READY_STATES and m
                ),
                timeout=120,
                what=f"{task_name} to finish",
            )
            assert meta["status"] == SUCCESS, (task_name, meta["traceback"])
            run.check(meta["result"])
    finally:
        stop(worker)
