"""What journaling a list page costs in CPU (issue 17: ≤ 1 ms per request).

Run against a database filled by `manage.py seed_scale` (grants included), see bench/README.md:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench_… \\
    DJANGO_SETTINGS_MODULE=backend.settings.local .venv/bin/python bench/list_journal_bench.py

For a counsellor of the organisation that sees the most pathways and of one that sees ~700 (as
bench/access_bench.py picks them), the first page of 50 of their pathways (most recently updated
first, as the API lists them), of their received and sent referrals and of their persons, with
their real grants (`access.grants_for`, fetched once, outside the timing). Then, many times, in a
transaction rolled back, with the API door current:

- `record_list_of` with the grants given (the pages' call);
- the API door's journaling as `parcours.api.reads.journal_reads` does it: `Seen.each` (`Seen.of`
  per distinct pathways), then `record_list`.

It prints `time.process_time()` p50 / p95 in ms and the function calls per page (cProfile). It
never asserts (timings are not tests) and refuses a database whose name lacks "bench".
"""

import cProfile
import os
import pstats
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from measures import counsellor_of, large_and_small, load_average, pct  # noqa: E402

from parcours import access  # noqa: E402
from parcours.actor import actor_for  # noqa: E402
from parcours.gate import Action, context  # noqa: E402
from parcours.gate.journal import Seen, record_list, record_list_of  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "1000"))
PAGE = 50


def pages(actor) -> dict[str, tuple[str, Action, list[tuple[int, list[int]]]]]:
    """label → (object type, action, [(object id, pathway ids)]) of the first page of 50."""
    pathways = access.pathways_visible_to(actor).order_by("-updated_at", "-id")[:PAGE]
    referrals = access.referrals_visible_to(actor).order_by("-updated_at", "-id")
    received = referrals.filter(receiver_organisation=actor.organisation)[:PAGE]
    sent = referrals.filter(sender_organisation=actor.organisation)[:PAGE]
    persons = access.persons_visible_to(actor).order_by("last_name", "first_name", "id")
    persons = persons.prefetch_related("pathways")[:PAGE]
    return {
        "pathways": ("pathway", Action.PATHWAY_LIST, [(p.pk, [p.pk]) for p in pathways]),
        "referrals received": (
            "referral",
            Action.REFERRAL_LIST,
            [(r.pk, [r.pathway_id]) for r in received.only("pk", "pathway_id")],
        ),
        "referrals sent": (
            "referral",
            Action.REFERRAL_LIST,
            [(r.pk, [r.pathway_id]) for r in sent.only("pk", "pathway_id")],
        ),
        "persons": (
            "person",
            Action.PERSON_LIST,
            [(p.pk, [w.pk for w in p.pathways.all()]) for p in persons],
        ),
    }


def pages_call(actor, action, object_type, items, grants) -> None:
    """As the pages do (web/views/): the grants given."""
    record_list_of(actor, action, object_type=object_type, items=items, grants=grants)


def door_journaling(actor, action, object_type, items, grants) -> None:
    """As `journal_reads` does for a list (the grants already primed by the page)."""
    record_list(actor, action, object_type=object_type, items=Seen.each(grants, items))


def timed(call, repeat: int) -> tuple[list[float], float]:
    cpus = []
    with transaction.atomic():
        for _ in range(20):
            call()
        for _ in range(repeat):
            started = time.process_time()
            call()
            cpus.append((time.process_time() - started) * 1000)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(20):
            call()
        profile.disable()
        transaction.set_rollback(True)
    return cpus, pstats.Stats(profile).total_calls / 20


def main() -> None:
    if "bench" not in connection.settings_dict["NAME"]:
        raise SystemExit("Refusing to run on a database whose name lacks 'bench'.")
    request = RequestFactory().get("/api/v1/pathways/", REMOTE_ADDR="203.0.113.7")
    print(f"## Journaling a list page, {REPEAT} times each (load average {load_average()})\n")
    print("| organisation | list | rows | groups | call | CPU p50 / p95 ms | calls / page |")
    print("|---|---|---:|---:|---|---:|---:|")
    for label, organisation, _visible in large_and_small():
        actor = actor_for(counsellor_of(organisation))
        for name, (object_type, action, items) in pages(actor).items():
            if not items:
                continue
            grants = access.grants_for(actor, {pid for _obj, ids in items for pid in ids})
            with context.door(context.Door.API, request=request):
                with transaction.atomic():
                    groups = record_list_of(
                        actor, action, object_type=object_type, items=items, grants=grants
                    )
                    transaction.set_rollback(True)
                arguments = (actor, action, object_type, items, grants)
                for call_name, call in (
                    ("record_list_of", partial(pages_call, *arguments)),
                    ("Seen.each + record_list", partial(door_journaling, *arguments)),
                ):
                    cpus, calls = timed(call, REPEAT)
                    print(
                        f"| {label} | {name} | {len(items)} | {groups} | {call_name} "
                        f"| {statistics.median(cpus):.3f} / {pct(cpus, 0.95):.3f} | {calls:,.0f} |"
                    )
    print(f"\nLoad average after: {load_average()}")


if __name__ == "__main__":
    main()
