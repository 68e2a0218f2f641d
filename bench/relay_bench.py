"""The outbox relay against plain smtplib: the same messages, to the same real SMTP sink (issue 17).

Runs on a small seeded database (bench/README.md §7b):

    DJANGO_SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench_relay \\
    DJANGO_SETTINGS_MODULE=backend.settings.local .venv/bin/python bench/relay_bench.py \\
        [--mails 2000] [--rounds 3] [--due-fraction 0.1] [--profile] [--relays 2 4]

What it does (it prints numbers; it never asserts on a duration):

1. If the outbox holds fewer than `--mails` rows: arranges due referrals and raises their alerts
   with `alerts_scan`, as bench/alerts_bench.py does (its `arrange`: every alert, delivery and
   outbox row deleted first), then ANALYZE.
2. Starts an aiosmtpd sink in a **process of its own** (127.0.0.1, free port, answers 250 to
   everything, keeps each Message-ID), so that the sink does not share the relay's interpreter.
3. Rounds of three runs, their order alternating from one round to the next, each over the
   **same** `--mails` rows (the first ones by id; the others parked a year ahead), reset before
   each run (pending, no attempt, their alerts open again):
   * **relay** — `outbox_relay(now)` as shipped (OUTBOX_BATCH_SIZE rows a batch), end to end:
     claim, facts, build and render, SMTP, record;
   * **relay, batch of 1** — the same with OUTBOX_BATCH_SIZE = 1 (a claim and a facts read per
     message, as before issue 17 the relay claimed one row at a time);
   * **smtplib** — the floor: the same messages built beforehand (outside the timing, by the
     same code), sent with `smtplib.SMTP.sendmail` over one session: what SMTP alone costs;
   * with `--relays 2 4`: **N relays side by side**, this process's and N − 1 others (one process
     each, started once), as N workers would run them (`--no-batch-of-one` skips the batch of 1).
   Each run checks that the sink received exactly `--mails` distinct Message-IDs and, for the
   relay, that every row ended `sent`.
4. Prints mails/s per run, the medians, the ratio relay / smtplib per round, the latency of a
   one-row commit before and after (each send's record is one: the floor exactly-once sets), and
   one relay run's phases (claim, facts, step = record + take, waiting for the builder, SMTP;
   the builder thread's time beside them), and the bench process's CPU time per mail.
   `--profile`: a cProfile of one relay pass (top 25 by cumulative time) first.

It refuses a database whose name does not contain "bench": it rewrites outbox and alert rows.
"""

import argparse
import cProfile
import datetime as dt
import email
import email.policy
import multiprocessing
import pstats
import smtplib
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))

import alerts_bench
from django.conf import settings
from django.db import connection
from django.utils import timezone
from measures import rows, scalar, sql

from notifications import mail_facts
from notifications.mail import build_email
from notifications.models import Alert, OutboxMessage, OutboxStatus
from notifications.services import alerts as alerts_service
from notifications.services import relay as relay_service
from notifications.services import relay_builder

OUTBOX = OutboxMessage._meta.db_table
ALERT = Alert._meta.db_table
# The relay process's CPU time per mail (ms), per run: what the machine's load inflates least.
cpu_per_mail: dict[str, list[float]] = {}


# --- The sink, in a process of its own ---------------------------------------------------------


def _sink_process(port: int, pipe) -> None:
    from aiosmtpd.controller import Controller

    received: list[str] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.compat32)
            received.append(parsed["Message-ID"])
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    pipe.send("ready")
    while (command := pipe.recv()) != "stop":
        if command == "take":  # the Message-IDs received since the last call
            pipe.send(list(received))
            received.clear()
    controller.stop()


class Sink:
    def __init__(self) -> None:
        self.port = alerts_bench.free_port()
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_sink_process, args=(self.port, child), daemon=True
        )

    def __enter__(self) -> "Sink":
        self.process.start()
        if self.pipe.recv() != "ready":
            raise SystemExit("the SMTP sink did not start")
        return self

    def take(self) -> list[str]:
        self.pipe.send("take")
        return self.pipe.recv()

    def __exit__(self, *exc_info) -> None:
        self.pipe.send("stop")
        self.process.join(timeout=10)


# --- Other relays, each in a process of its own (workers relaying side by side) ---------------


def _relay_process(port: int, pipe) -> None:
    import django

    django.setup()
    from django.conf import settings

    from notifications.services.relay import outbox_relay

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    pipe.send("ready")
    while (command := pipe.recv()) != "stop":
        report = outbox_relay(now=dt.datetime.fromisoformat(command), budget_seconds=600)
        pipe.send(report.as_dict())


class OtherRelay:
    def __init__(self, port: int) -> None:
        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_relay_process, args=(port, child), daemon=True
        )

    def __enter__(self) -> "OtherRelay":
        self.process.start()
        if self.pipe.recv() != "ready":
            raise SystemExit("another relay did not start")
        return self

    def __exit__(self, *exc_info) -> None:
        self.pipe.send("stop")
        self.process.join(timeout=10)


# --- Data --------------------------------------------------------------------------------------


def ensure_rows(now: dt.datetime, mails: int, fraction: float, seed: int) -> None:
    if OutboxMessage.objects.count() >= mails:
        return
    alerts_bench.arrange(now, fraction, seed)
    report = alerts_service.alerts_scan(now=now)
    alerts_bench.analyze_notifications()
    print(f"alerts_scan: {report.as_dict()}")
    if OutboxMessage.objects.count() < mails:
        raise SystemExit(
            f"Only {OutboxMessage.objects.count():,} outbox rows: raise --due-fraction"
        )


def reset(now: dt.datetime, mails: int) -> list[int]:
    """The first `mails` rows due at `now`, never tried, their alerts open; the others parked."""
    sql(
        f"UPDATE {OUTBOX} SET status = 'pending', sent_at = NULL, failed_at = NULL, "
        "attempts = 0, claim_token = NULL, claimed_at = NULL, smtp_code = NULL, "
        "last_error = '', next_attempt_at = %s",
        [now + dt.timedelta(days=365)],
    )
    ids = [row[0] for row in rows(f"SELECT id FROM {OUTBOX} ORDER BY id LIMIT %s", [mails])]
    sql(f"UPDATE {OUTBOX} SET next_attempt_at = %s WHERE id = ANY(%s)", [now, ids])
    sql(f"UPDATE {ALERT} SET state = 'open', notified_at = NULL WHERE state = 'notified'")
    sql(f"VACUUM ANALYZE {OUTBOX}")
    sql(f"VACUUM ANALYZE {ALERT}")
    return ids


# --- Runs --------------------------------------------------------------------------------------


def relay_run(now: dt.datetime, mails: int, sink: Sink, batch: int, phases=None) -> float:
    reset(now, mails)
    sink.take()
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(settings, "OUTBOX_BATCH_SIZE", batch))
        if phases is not None:
            for name, module, attribute in (
                ("claim", relay_service, "outbox_claim"),
                ("facts", relay_service, "mail_facts_load"),
                ("step (record + take)", relay_service, "outbox_record_and_take"),
                ("waiting for the builder", relay_builder.Builder, "prepared"),
                ("SMTP", relay_service, "hand_over"),
                ("release", relay_service, "outbox_release"),
                # In the builder thread, beside the rest: not part of the relay's own time.
                ("  build + render + flatten (builder thread)", relay_builder, "prepare"),
            ):
                wrapped = phases.wrap(name, getattr(module, attribute))
                stack.enter_context(mock.patch.object(module, attribute, wrapped))
        t0, cpu0 = time.perf_counter(), time.process_time()
        report = relay_service.outbox_relay(now=now, budget_seconds=600)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    cpu_per_mail.setdefault(f"relay, batch of {batch}", []).append(cpu / mails * 1000)
    received = sink.take()
    sent_rows = OutboxMessage.objects.filter(status=OutboxStatus.SENT).count()
    if not (len(received) == len(set(received)) == report.sent == sent_rows == mails):
        print(
            f"!! relay (batch {batch}): {report.as_dict()}, sink {len(received)} messages "
            f"({len(set(received))} distinct), rows sent {sent_rows}, expected {mails}"
        )
    if phases is not None:
        print(f"Phases of a relay run (batch {batch}, {elapsed:.2f} s): {phases.line(elapsed)}")
    return mails / elapsed


def relays_run(now: dt.datetime, mails: int, sink: Sink, others: list[OtherRelay]) -> float:
    """This process's relay and the other processes', side by side over the same rows."""
    reset(now, mails)
    sink.take()
    t0 = time.perf_counter()
    for other in others:
        other.pipe.send(now.isoformat())
    mine = relay_service.outbox_relay(now=now, budget_seconds=600)
    theirs = [other.pipe.recv() for other in others]
    elapsed = time.perf_counter() - t0
    received = sink.take()
    sent_rows = OutboxMessage.objects.filter(status=OutboxStatus.SENT).count()
    counts = [mine.sent] + [report["sent"] for report in theirs]
    if not (len(received) == len(set(received)) == sum(counts) == sent_rows == mails):
        print(
            f"!! {len(counts)} relays: {mine.as_dict()} + {theirs}, sink {len(received)} messages "
            f"({len(set(received))} distinct), rows sent {sent_rows}, expected {mails}"
        )
    shares.setdefault(len(counts), []).append("+".join(str(n) for n in counts))
    return mails / elapsed


shares: dict[int, list[str]] = {}  # how the relays split each run's mails


def prebuilt(now: dt.datetime, mails: int) -> list[tuple[str, list[str], bytes]]:
    """The same messages as the relay sends, built by the same code, as bytes for sendmail."""
    ids = reset(now, mails)
    messages = list(OutboxMessage.objects.filter(pk__in=ids).order_by("id"))
    facts = mail_facts.mail_facts_load(messages)
    built = []
    for message in messages:
        mail = build_email(message, facts)
        if mail is None:
            raise SystemExit(f"outbox row {message.pk} has nothing to say")
        built.append((mail.from_email, mail.recipients(), mail.message().as_bytes(linesep="\r\n")))
    return built


def smtplib_run(built: list[tuple[str, list[str], bytes]], sink: Sink) -> float:
    sink.take()
    t0, cpu0 = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=20) as session:
        for from_address, recipients, data in built:
            session.sendmail(from_address, recipients, data)
    elapsed = time.perf_counter() - t0
    cpu_per_mail.setdefault("smtplib", []).append((time.process_time() - cpu0) / len(built) * 1e3)
    received = sink.take()
    if not len(received) == len(set(received)) == len(built):
        print(f"!! smtplib: sink {len(received)} messages, {len(set(received))} distinct")
    return len(built) / elapsed


def profile(now: dt.datetime, mails: int) -> None:
    reset(now, mails)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    report = relay_service.outbox_relay(now=now, budget_seconds=600)
    profiler.disable()
    elapsed = time.perf_counter() - t0
    print(f"\n## cProfile of one relay pass: {report.as_dict()} in {elapsed:.2f} s (profiled)\n")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--due-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--relays",
        type=int,
        nargs="+",
        default=[1],
        help="also runs of N relays side by side, one process each (e.g. --relays 2 4)",
    )
    parser.add_argument("--no-batch-of-one", action="store_true", help="skip the batch-of-1 runs")
    args = parser.parse_args()

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"Refusing to run on {name!r}: bench databases only.")
    alerts_bench.logging.getLogger("notifications").setLevel(alerts_bench.logging.ERROR)
    now = timezone.now().replace(second=0, microsecond=0)
    ensure_rows(now, args.mails, args.due_fraction, args.seed)
    print(
        f"# Outbox relay vs plain smtplib — database {name}, PostgreSQL "
        f"{scalar('SHOW server_version')}, synchronous_commit "
        f"{scalar('SHOW synchronous_commit')}, {alerts_bench.load()}\n"
        f"{args.mails:,} mails a run (of {OutboxMessage.objects.count():,} outbox rows), "
        f"OUTBOX_BATCH_SIZE {settings.OUTBOX_BATCH_SIZE}, DEBUG {settings.DEBUG}"
    )
    # The floor of exactly-once: each send's record is a commit (a WAL flush) of its own.
    print(f"Commit of a one-row INSERT: {alerts_bench.p50_p95(alerts_bench.commit_latency())}")
    with ExitStack() as stack:
        sink = stack.enter_context(Sink())
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        if args.profile:
            profile(now, args.mails)
        built = prebuilt(now, args.mails)
        others = [stack.enter_context(OtherRelay(sink.port)) for _ in range(max(args.relays) - 1)]
        runs = {
            "relay": lambda: relay_run(now, args.mails, sink, settings.OUTBOX_BATCH_SIZE),
            "relay, batch of 1": lambda: relay_run(now, args.mails, sink, 1),
            "smtplib": lambda: smtplib_run(built, sink),
        }
        for count in sorted(set(args.relays) - {1}):
            runs[f"{count} relays ({count} processes)"] = lambda count=count: relays_run(
                now, args.mails, sink, others[: count - 1]
            )
        if args.no_batch_of_one:
            del runs["relay, batch of 1"]
        results: dict[str, list[float]] = {label: [] for label in runs}
        for round_number in range(args.rounds):
            order = list(runs) if round_number % 2 == 0 else list(reversed(runs))
            for label in order:
                results[label].append(runs[label]())
            print(
                f"round {round_number + 1} ({', '.join(order)}): "
                + ", ".join(f"{label} {results[label][-1]:,.0f}/s" for label in runs)
            )
        relay_run(now, args.mails, sink, settings.OUTBOX_BATCH_SIZE, alerts_bench.Phases())
    print("\n| run | mails/s per round | median | relay / smtplib (median of rounds) |")
    print("|---|---|---:|---:|")
    for label, values in results.items():
        ratios = [r / s for r, s in zip(values, results["smtplib"], strict=True)]
        print(
            f"| {label} | {', '.join(f'{v:,.0f}' for v in values)} | "
            f"{statistics.median(values):,.0f} | {statistics.median(ratios):.2f} |"
        )
    for count, split in shares.items():
        print(f"\n{count} relays: mails sent by each, per run: {', '.join(split)}")
    print(
        "\nCPU time of the bench process per mail (ms, median of runs): "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in cpu_per_mail.items())
    )
    print(f"\nCommit of a one-row INSERT: {alerts_bench.p50_p95(alerts_bench.commit_latency())}")
    print(f"{alerts_bench.load()} at the end")


if __name__ == "__main__":
    main()
