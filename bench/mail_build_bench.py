"""Building the relay's e-mails, Django's MIME path against the lean writer (issue 17).

On the database of bench/relay_bench.py (bench/README.md §7b, after one run of it: its outbox
rows), with the same environment:

    .venv/bin/python bench/mail_build_bench.py [--mails 1000] [--rounds 5] [--only lean|django]

Reads `--mails` outbox rows and their facts once (as a relay batch does), then, in alternating
rounds, builds every e-mail (`build_email`: the templates rendered) and turns it into the bytes
SMTP is handed — by Django (`message().as_bytes()`) or by the lean writer
(`mail_writer.smtp_bytes`) — and prints the CPU time per mail of each (process time: what the
machine's load inflates least), the rendering alone beside them, and checks that every e-mail
the writer wrote parses to Django's (headers, parts, bodies; Date aside).

`--only lean` or `--only django` builds one way once, nothing else after the set-up: for an
instruction count that no other process disturbs,

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.lean .venv/bin/python \\
        bench/mail_build_bench.py --only lean

minus a run with `--only none` (the set-up alone). It prints numbers; it asserts nothing on time.
"""

import argparse
import email.policy
import statistics
import sys
import time
from email.parser import BytesParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, for its settings

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.utils import translation  # noqa: E402

from notifications.mail import build_email  # noqa: E402
from notifications.mail_facts import mail_facts_load  # noqa: E402
from notifications.mail_writer import lean_bytes, smtp_bytes  # noqa: E402
from notifications.models import OutboxMessage  # noqa: E402

PARSER = BytesParser(policy=email.policy.default)


def django_bytes(message) -> bytes:
    return message.message().as_bytes(linesep="\r\n")


WAYS = {"render only": lambda message: b"", "django": django_bytes, "lean": smtp_bytes}


def build_all(rows, facts, to_bytes) -> int:
    size = 0
    for row in rows:
        message = build_email(row, facts)
        if message is not None:
            size += len(to_bytes(message))
    return size


def parsed(data: bytes) -> tuple:
    message = PARSER.parsebytes(data)
    headers = [(n, str(v).strip()) for n, v in message.items() if n not in ("Content-Type", "Date")]
    parts = [(p.get_content_type(), p.get_content()) for p in message.iter_parts()]
    return headers, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["lean", "django", "none"])
    args = parser.parse_args()
    if "bench" not in settings.DATABASES["default"]["NAME"]:
        raise SystemExit("refusing: the database name must contain 'bench'")
    translation.activate(settings.LANGUAGE_CODE)
    rows = list(OutboxMessage.objects.order_by("id")[: args.mails])
    if len(rows) < args.mails:
        raise SystemExit(f"{len(rows)} outbox rows: run bench/relay_bench.py once first")
    facts = mail_facts_load(rows)
    if args.only:
        if args.only != "none":
            build_all(rows, facts, WAYS[args.only])
        return

    written = 0
    for row in rows:
        message = build_email(row, facts)
        if message is None:
            continue
        lean = lean_bytes(message)
        assert lean is not None, f"row {row.pk}: not written by the lean writer"
        assert parsed(lean) == parsed(django_bytes(message)), f"row {row.pk} differs"
        written += 1
    print(f"{written} e-mails of {len(rows)} rows: each written by the lean writer, parsed equal")

    cpu: dict[str, list[float]] = {way: [] for way in WAYS}
    for round_ in range(args.rounds):
        order = list(WAYS) if round_ % 2 == 0 else list(reversed(WAYS))
        for way in order:
            start = time.process_time()
            build_all(rows, facts, WAYS[way])
            cpu[way].append((time.process_time() - start) / len(rows) * 1e3)
    print(f"\nCPU per e-mail (ms), {args.rounds} rounds over {len(rows)} rows, alternated:")
    for way, values in cpu.items():
        rounded = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {way:12} median {statistics.median(values):.3f}   ({rounded})")
    render = statistics.median(cpu["render only"])
    for way in ("django", "lean"):
        print(f"  {way}: MIME bytes alone {statistics.median(cpu[way]) - render:.3f} ms")


if __name__ == "__main__":
    main()
