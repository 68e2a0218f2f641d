"""Page response times on the demo data (issue 6: p95 < 200 ms), measured, never asserted
(bench/pages_bench.py measures the person page and the referral form at national scale).

Run against a database filled by `manage.py seed_demo` (what `make run` uses), in-process with
Django's test `Client` (no HTTP server, so this is the server-side time: views, queries,
templates):

    set -a; source ~/.config/parcours/local.env; set +a
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours \\
    DJANGO_SETTINGS_MODULE=backend.settings.local \\
    .venv/bin/python bench/demo_pages_bench.py [--runs 50]

Each page is requested `--runs` times (after two warm-up requests) as the demo users who would
use it; p50 / p95 / max in ms and the number of queries of the last request are printed.
Every request appends to the access journal, as real use does: run it on a local database only.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpRequest  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from parcours.models import Pathway, Referral  # noqa: E402

PASSWORD = "demo-parcours-2026"  # noqa: S105  (the demo accounts, documented in the README)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    setup_test_environment()
    if not Pathway.objects.exists():
        sys.exit("Aucune donnée : lancez d'abord manage.py seed_demo.")
    counsellor, siae = Client(), Client()
    # django-axes checks every password against its lockout, which needs the request.
    assert counsellor.login(request=HttpRequest(), username="ft.conseiller", password=PASSWORD)
    assert siae.login(request=HttpRequest(), username="siae.conseiller", password=PASSWORD)
    own = Pathway.objects.filter(
        owner_organisation__memberships__user__username="ft.conseiller"
    ).first()
    received = Referral.objects.filter(
        receiver_organisation__memberships__user__username="siae.conseiller"
    ).first()
    pages = [
        ("accueil (À traiter)", counsellor, "/"),
        ("recherche de personnes", counsellor, "/personnes/", {"last_name": "m"}),
        ("fiche personne", counsellor, f"/personnes/{own.person_id}/"),
        ("formulaire d'orientation", counsellor, f"/parcours/{own.pk}/orienter/"),
        ("orientations reçues", siae, "/orientations/recues/"),
        ("orientation", siae, f"/orientations/{received.pk}/"),
        ("alertes", counsellor, "/alertes/"),
    ]
    print(f"{'page':28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
    for label, client, url, *form in pages:

        def fetch(client=client, url=url, form=form):
            # The search is a POST (no names or NIR in URLs); the other pages are GETs.
            return client.post(url, form[0]) if form else client.get(url)

        for _ in range(2):
            assert fetch().status_code == 200, url
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = fetch()
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        print(
            f"{label:28} {statistics.median(timings):8.1f} {pct(timings, 0.95):8.1f} "
            f"{max(timings):8.1f} {len(queries):8d}"
        )


if __name__ == "__main__":
    main()
