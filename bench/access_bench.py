"""Consent-scoped access at national scale: what scoping and the access journal cost per request.

Run against a database filled by `manage.py seed_scale` (grants included), see bench/README.md:

    DJANGO_SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench \\
    DJANGO_SETTINGS_MODULE=backend.settings.local .venv/bin/python bench/access_bench.py

Requests go through Django's test `Client` **in-process**: the whole Django stack (middleware,
session, DRF, permissions, scoping, serialization, journal INSERT) but no HTTP server, no network
and no JSON parsing by a client. Two counsellors log in (force_login): one of the organisation that
sees the most pathways (~50 k) and one of an organisation that sees ~700. For each endpoint the
three modes run interleaved, request by request, so that machine noise hits them alike:

- scoped: the application as it is;
- unscoped: `parcours.access.pathways_visible_to` / `persons_visible_to` return every row and
  `grants_for` every category of the role with no basis and no relation — same queries and
  serialization without the permission EXISTS (the baseline of the 2× budget);
- no journal: scoped, with the gate's journal writes of the API door (`record_read`,
  `record_list`, as `parcours.api.reads.journal_reads` calls them) no-ops: the journal's cost is
  the difference, in ms and in SQL queries.

It prints p50 / p95 / max in ms (never asserts: timings are not tests), the SQL queries per
request, and EXPLAIN ANALYZE of the scoped list query. It refuses a database whose name does not
contain "bench": every scoped request appends a row to the (append-only) access journal.
"""

import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from measures import counsellor_of, large_and_small, pct  # noqa: E402

from parcours import access  # noqa: E402
from parcours.actor import actor_for  # noqa: E402
from parcours.api import reads  # noqa: E402
from parcours.models import (  # noqa: E402
    AccessEvent,
    Organisation,
    Pathway,
    PathwayGroupObjectPermission,
    Person,
)

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
WARMUP = 20
DEEP_HOPS = 20
PAGE = 50
SMALL_TARGET = 700

settings.DEBUG = False  # no query log kept per request
settings.ALLOWED_HOSTS = ["testserver"]


# --- Modes -------------------------------------------------------------------------------------


def _all_pathways(actor, category=None):
    return Pathway.objects.all()


def _all_persons(actor):
    return Person.objects.all()


def _all_grants(actor, pathway_ids):
    every = access.PathwayGrants(
        bases={c: frozenset() for c in access.role_categories(actor)}, relations=frozenset()
    )
    return dict.fromkeys(set(pathway_ids), every)


def _no_journal(*args, **kwargs):
    return None


MODES: dict[str, dict[str, Callable]] = {
    "scoped": {},
    "unscoped": {
        "parcours.access.pathways_visible_to": _all_pathways,
        "parcours.access.persons_visible_to": _all_persons,
        # categories_for, basis_for, the redaction and the journal all ask grants_for.
        "parcours.access.grants_for": _all_grants,
    },
    # reads.py imported the gate's writers by name: patch them there. The door still works out
    # what it showed (already fetched for the redaction); only the rows are not written.
    "no journal": {
        "parcours.api.reads.record_read": _no_journal,
        "parcours.api.reads.record_list": _no_journal,
    },
}
assert reads.record_read.__module__ == "parcours.gate.journal"


@contextmanager
def mode(name: str) -> Iterator[None]:
    with ExitStack() as stack:
        for target, replacement in MODES[name].items():
            stack.enter_context(mock.patch(target, replacement))
        yield


# --- Helpers -----------------------------------------------------------------------------------


def timed_get(client: Client, url: str) -> tuple[float, object]:
    t0 = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return elapsed, response


# --- The bench ---------------------------------------------------------------------------------


def bench_org(label: str, organisation: Organisation, visible: int, rng: random.Random) -> list:
    user = counsellor_of(organisation)
    actor = actor_for(user)
    assert actor.organisation.pk == organisation.pk
    client = Client()
    client.force_login(user)
    print(
        f"\n## {label}: {organisation.name} ({organisation.kind}), sees {visible:,} pathways, "
        f"as {user.username} ({actor.role})"
    )

    first_url = f"/api/v1/pathways/?page_size={PAGE}"
    # A deep page: follow `next` DEEP_HOPS times (scoped), then time that page.
    url = first_url
    hops_ms = []
    for _ in range(DEEP_HOPS):
        elapsed, response = timed_get(client, url)
        hops_ms.append(elapsed)
        url = response.json()["next"]
        if url is None:
            break
    deep_url = url or first_url
    print(f"cursor walk: {len(hops_ms)} pages, {sum(hops_ms):.0f} ms in all")

    ids = list(access.pathways_visible_to(actor).values_list("pk", flat=True)[:20000])
    sample = [rng.choice(ids) for _ in range(max(REQUESTS, WARMUP))]
    person_of = dict(Pathway.objects.filter(pk__in=set(sample)).values_list("pk", "person_id"))
    endpoints: dict[str, Callable[[int], str]] = {
        "list, first page": lambda i: first_url,
        f"list, page {len(hops_ms) + 1} (cursor)": lambda i: deep_url,
        "pathway detail": lambda i: f"/api/v1/pathways/{sample[i]}/",
        "person detail": lambda i: f"/api/v1/persons/{person_of[sample[i]]}/",
    }

    rows = []
    for endpoint, make_url in endpoints.items():
        samples: dict[str, list[float]] = {name: [] for name in MODES}
        queries: dict[str, int] = {}
        statements: dict[str, list[str]] = {}
        for name in MODES:  # warm-up, and the number of SQL queries of one request
            with mode(name):
                for i in range(WARMUP):
                    timed_get(client, make_url(i))
                with CaptureQueriesContext(connection) as captured:
                    timed_get(client, make_url(0))
                queries[name] = len(captured.captured_queries)
                statements[name] = [q["sql"] for q in captured.captured_queries]
        for i in range(REQUESTS):
            for name in MODES:
                with mode(name):
                    elapsed, _ = timed_get(client, make_url(i))
                samples[name].append(elapsed)
        rows.append((label, endpoint, samples, queries))
        journal_sql = Counter(map(_shape, statements["scoped"]))
        journal_sql.subtract(map(_shape, statements["no journal"]))
        print(
            f"{endpoint}: SQL of the journal (scoped minus no journal): "
            + ("; ".join(f"{n} × {shape}" for shape, n in journal_sql.items() if n) or "none")
        )
        s, u, n = samples["scoped"], samples["unscoped"], samples["no journal"]
        print(
            f"{endpoint:<28} scoped p50 {statistics.median(s):6.1f} p95 {pct(s, 0.95):6.1f} | "
            f"unscoped p50 {statistics.median(u):6.1f} p95 {pct(u, 0.95):6.1f} | "
            f"no journal p50 {statistics.median(n):6.1f} | queries {queries}"
        )

    explain(actor, label)
    return rows


def _shape(statement: str) -> str:
    """A statement's verb and first table, e.g. `INSERT INTO "parcours_accessevent"`."""
    words = statement.split()
    if words[0].upper() == "INSERT":
        return " ".join(words[:3])
    table = next((w for w in words if w.startswith('"parcours_')), "")
    return f"{words[0]} … FROM {table.split('.')[0]}"


def explain(actor, label: str) -> None:
    queryset = (
        access.pathways_visible_to(actor)
        .select_related("person", "owner_organisation", "referent", "referent_organisation")
        .order_by("-updated_at", "-id")[: PAGE + 1]
    )
    print(f"\n### EXPLAIN ANALYZE, scoped list, first page ({label})\n")
    print("```")
    print(queryset.explain(analyze=True, buffers=True))
    print("```")
    if label.startswith("large"):
        print(f"\n```sql\n{queryset.query}\n```")


def table(rows: list) -> None:
    print(
        "\n| organisation | endpoint | scoped p50 / p95 / max | unscoped p50 / p95 / max "
        "| ratio p50 / p95 | no journal p50 | journal ms (mean) / queries "
        "| queries scoped / unscoped |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, endpoint, samples, queries in rows:
        s, u, n = samples["scoped"], samples["unscoped"], samples["no journal"]
        print(
            f"| {label} | {endpoint} "
            f"| {statistics.median(s):.1f} / {pct(s, 0.95):.1f} / {max(s):.1f} "
            f"| {statistics.median(u):.1f} / {pct(u, 0.95):.1f} / {max(u):.1f} "
            f"| {statistics.median(s) / statistics.median(u):.2f} "
            f"/ {pct(s, 0.95) / pct(u, 0.95):.2f} "
            f"| {statistics.median(n):.1f} "
            f"| {statistics.fmean(s) - statistics.fmean(n):.1f} "
            f"/ {queries['scoped'] - queries['no journal']} "
            f"| {queries['scoped']} / {queries['unscoped']} |"
        )


def main() -> None:
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"Refusing to run on {name!r}: bench databases only.")
    rng = random.Random(7)
    organisations = large_and_small(SMALL_TARGET)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PathwayGroupObjectPermission._meta.db_table}")
        grants = cursor.fetchone()[0]
    journal_before = AccessEvent.objects.count()
    print(
        f"# Consent-scoped access bench — {Pathway.objects.count():,} pathways, "
        f"{grants:,} group grants, {REQUESTS} requests per endpoint and mode, in-process Client"
    )
    rows = [
        row
        for label, organisation, visible in organisations
        for row in bench_org(label, organisation, visible, rng)
    ]
    table(rows)
    print(f"\nJournal rows written by this run: {AccessEvent.objects.count() - journal_before:,}")


if __name__ == "__main__":
    main()
