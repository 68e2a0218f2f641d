"""Pages at national scale (issue 13): HTML size and server time of the person page and the
referral form with 2,000 organisations in the directory, against a floor.

Run against a database of its own filled by `manage.py seed_scale` (bench/README.md §9):

    DJANGO_SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_pagesbench \\
    DJANGO_SETTINGS_MODULE=backend.settings.local .venv/bin/python bench/pages_bench.py

A counsellor of the France Travail agency that holds the most pathways logs in (force_login) and
requests, through Django's test `Client` **in-process** (views, queries, templates; no HTTP
server, no network), for `BENCH_SAMPLES` pathways it holds:

- the person page (`GET /personnes/<id>/`), the referral form (`GET /parcours/<id>/orienter/`);
- the htmx fragments the pages call when they exist in the code under test: the person search
  as you type (POST, three letters of a name) and the organisation picker (two letters, as a
  counsellor starts typing).

Two modes run interleaved, request by request, so that machine noise hits them alike:

- page: the request;
- floor: the same SQL the request ran (captured once per URL with `CaptureQueriesContext`, with
  its parameters bound), replayed through a plain psycopg connection in one transaction that is
  rolled back (the journal's INSERT and the session's UPDATE included, nothing kept): what the
  database alone costs. The ratio page / floor is what Django, the templates and Python add.

It prints the HTML size (KB, and gzipped), p50 / p95 / max in ms for both modes, the ratio, the
CPU time of this process per request (Django's own work, which a busy machine inflates far
less than wall time) and the SQL queries per request, as a markdown table, and the load average;
it never asserts (timings are not tests).
Before measuring, each sampled pathway's record is filled as the pages fill it (through the
services, once: skipped when already there) — three domains of the shared diagnostic with two
versions each, an action plan of two objectives with three actions, two organisations of the care
team — so that the person page carries every section of issue 13, not only what `seed_scale`
writes. It refuses a database whose name lacks "bench": every page appends rows to the access
journal.
To measure an earlier version of the code, run this file from a copy of that version (the
fragments it does not have are skipped).
"""

import datetime
import gzip
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from measures import floor_connection, load_average, pct, replay  # noqa: E402

from parcours.models import (  # noqa: E402
    Membership,
    Organisation,
    OrganisationKind,
    Pathway,
    Role,
)

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "20"))
WARMUP = 20

settings.DEBUG = False  # no query log kept per request
settings.ALLOWED_HOSTS = ["testserver"]
HTMX = {"HX-Request": "true"}


class Page:
    """One page: how to request sample i, its captured SQL per sample, its timings."""

    def __init__(self, label: str, request: Callable[[Client, int], object], samples: int):
        self.label = label
        self.request = request
        self.samples = samples
        self.sql: dict[int, list[str]] = {}
        self.sizes: list[int] = []
        self.gzipped: list[int] = []
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.floor: list[float] = []

    def call(self, client: Client, i: int):
        response = self.request(client, i % self.samples)
        if response.status_code != 200:
            raise SystemExit(f"{self.label} answered {response.status_code}")
        return response

    def capture(self, client: Client) -> None:
        for i in range(self.samples):
            with CaptureQueriesContext(connection) as captured:
                response = self.call(client, i)
            self.sql[i] = [q["sql"] for q in captured.captured_queries]
            self.sizes.append(len(response.content))
            self.gzipped.append(len(gzip.compress(response.content)))


def counsellor_and_pathways(rng: random.Random):
    agency = (
        Organisation.objects.filter(kind=OrganisationKind.FRANCE_TRAVAIL)
        .annotate(held=Count("owned_pathways"))
        .order_by("-held", "id")
        .first()
    )
    if agency is None or agency.held == 0:
        raise SystemExit("No pathways: seed with `manage.py seed_scale` first.")
    membership = (
        Membership.objects.filter(organisation=agency, is_active=True, role=Role.COUNSELLOR)
        .select_related("user")
        .order_by("id")
        .first()
    )
    pathways = list(
        Pathway.objects.filter(owner_organisation=agency, status="open")
        .select_related("person")
        .order_by("id")
    )
    return agency, membership.user, rng.sample(pathways, min(SAMPLES, len(pathways)))


def fill_records(user, agency, pathways) -> None:
    """The sections a counsellor fills on the person page (see the module's docstring)."""
    from django.utils import timezone

    from parcours.actor import actor_for
    from parcours.gate import Door, door
    from parcours.models import CareTeamMember, DiagnosticEntry
    from parcours.services.action_plan import objective_add, plan_action_add
    from parcours.services.care_team import care_team_add
    from parcours.services.diagnostic import diagnostic_write

    actor = actor_for(user, agency.pk)
    partners = list(
        Organisation.objects.exclude(pk=agency.pk).order_by("id").values_list("pk", flat=True)[:2]
    )
    due = timezone.localdate() + datetime.timedelta(days=30)
    with door(Door.COMMAND):
        for pathway in pathways:
            if DiagnosticEntry.objects.filter(pathway=pathway).exists():
                continue
            for domain in ("professional_project", "training", "mobility"):
                for version in (1, 2):
                    diagnostic_write(
                        actor=actor,
                        pathway_id=pathway.pk,
                        domain=domain,
                        text=f"Situation (version {version}) : " + "éléments de contexte " * 12,
                        level="to_work_on",
                    )
            for partner in partners:
                if not CareTeamMember.objects.filter(
                    pathway=pathway, organisation_id=partner, ended_at__isnull=True
                ).exists():
                    care_team_add(actor=actor, pathway_id=pathway.pk, organisation_id=partner)
            for n in (1, 2):
                objective = objective_add(
                    actor=actor, pathway_id=pathway.pk, title=f"Objectif {n} du projet"
                )
                for m in (1, 2, 3):
                    plan_action_add(
                        actor=actor,
                        objective_id=objective.pk,
                        label=f"Action {n}.{m} : démarche à engager",
                        owner_organisation_id=agency.pk,
                        due_on=due,
                    )


def url_or_none(name: str, **kwargs) -> str | None:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def main() -> None:
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"Refusing to run on {name!r}: bench databases only.")
    load_before = load_average()
    rng = random.Random(13)
    agency, user, pathways = counsellor_and_pathways(rng)
    fill_records(user, agency, pathways)
    client = Client()
    client.force_login(user)
    n = len(pathways)
    prefixes = [p.person.last_name[:3] for p in pathways]
    pages = [
        Page(
            "fiche personne",
            lambda c, i: c.get(reverse("web:person-detail", args=[pathways[i].person_id])),
            n,
        ),
        Page(
            "formulaire d'orientation",
            lambda c, i: c.get(reverse("web:referral-create", args=[pathways[i].pk])),
            n,
        ),
        Page(
            "recherche de personnes (htmx)",
            lambda c, i: c.post(
                reverse("web:person-search"), {"last_name": prefixes[i]}, headers=HTMX
            ),
            n,
        ),
    ]
    picker = url_or_none("web:directory-organisations")
    if picker is not None:
        names = list(
            Organisation.objects.order_by("?").values_list("name", flat=True)[:n]
        )  # two letters of a word of the name, as a counsellor starts typing
        typed = [rng.choice([w for w in nm.split() if len(w) > 3] or [nm])[:2] for nm in names]
        pages.append(
            Page(
                "sélecteur d'organismes (htmx)",
                lambda c, i: c.get(
                    picker,
                    {"annuaire-q": typed[i], "champ": "receiver_organisation"},
                    headers=HTMX,
                ),
                n,
            )
        )
    organisations = Organisation.objects.count()
    print(
        f"# Pages at national scale — {Pathway.objects.count():,} pathways, {organisations:,} "
        f"organisations; {user.username} of {agency.name} ({agency.held:,} pathways held); "
        f"{n} samples, {REQUESTS} requests per page and mode, in-process Client"
    )
    database = floor_connection()
    for page in pages:
        page.capture(client)
        for i in range(WARMUP):
            page.call(client, i)
            replay(database, page.sql[i % page.samples])
    for i in range(REQUESTS):
        for page in pages:
            t0, c0 = time.perf_counter(), time.process_time()
            page.call(client, i)
            page.times.append((time.perf_counter() - t0) * 1000)
            page.cpu.append((time.process_time() - c0) * 1000)
            page.floor.append(replay(database, page.sql[i % page.samples]))
    database.close()

    print(
        "\n| page | HTML KB (gzip) | page p50 / p95 / max ms | floor p50 / p95 / max ms "
        "| ratio p50 / p95 | CPU p50 / p95 ms | queries |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for page in pages:
        t, f = page.times, page.floor
        queries = sorted(len(s) for s in page.sql.values())
        print(
            f"| {page.label} "
            f"| {statistics.median(page.sizes) / 1024:.1f} "
            f"({statistics.median(page.gzipped) / 1024:.1f}) "
            f"| {statistics.median(t):.1f} / {pct(t, 0.95):.1f} / {max(t):.1f} "
            f"| {statistics.median(f):.1f} / {pct(f, 0.95):.1f} / {max(f):.1f} "
            f"| {statistics.median(t) / statistics.median(f):.1f} "
            f"/ {pct(t, 0.95) / pct(f, 0.95):.1f} "
            f"| {statistics.median(page.cpu):.1f} / {pct(page.cpu, 0.95):.1f} "
            f"| {queries[0]}–{queries[-1]} |"
        )
    print(f"\nLoad average: {load_before} at the start, {load_average()} at the end")
    print(
        "\nHTML KB: median over the samples (min–max: "
        + "; ".join(f"{p.label} {min(p.sizes) / 1024:.0f}–{max(p.sizes) / 1024:.0f}" for p in pages)
        + ")"
    )


if __name__ == "__main__":
    main()
