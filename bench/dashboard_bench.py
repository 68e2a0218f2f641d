"""The dashboard over real HTTP, against a floor (issue 18): « Tableau de bord » and the
statistics API for a manager and for a territorial coordinator, the coordinator's overdue
referrals (page and API), and the report of an agreement's indicators (page, CSV, API) for a
manager of one of its parties.

Run against a database filled by `manage.py seed_scale`, its figures computed
(`manage.py referral_figures_refresh --full`), see docs/performance.md:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench_dashboard \\
    FIELD_ENCRYPTION_KEYS=… SEARCH_INDEX_KEY=… .venv/bin/python bench/dashboard_bench.py

The machinery is bench/http_bench.py's (reused, not copied): gunicorn as production runs it,
each request's SQL captured in-process once and replayed by the floor view through psycopg, the
two sides interleaved request by request; p50 / p95 / max and their ratios. The manager is the
manager of the organisation that sent the most referrals; the coordinator covers the employment
area whose organisations received the most (a membership is added to the département's
organisation of that area, or to that organisation itself, if the database has none).
It prints markdown and never asserts (timings are not tests). It refuses a database whose name
lacks "bench" (it adds a token, sessions and, if needed, that membership; it annexes every
available catalogue indicator to the manager's first agreement; every overdue list is journaled).
"""

import argparse
import json
import os
import tempfile

import http_bench  # sets Django up with the bench's settings: imported before any model
from django.db import connection
from django.db.models import Count, Sum
from http_bench import Endpoint, capture, credentials, free_port, sequential, start_server
from measures import load_average

from parcours.indicators import AVAILABLE_CODES
from parcours.models import (
    Agreement,
    AgreementIndicator,
    Membership,
    Organisation,
    OrganisationKind,
    Referral,
    ReferralMonthlyFigure,
    Role,
)


def _manager_membership() -> Membership:
    busiest = (
        ReferralMonthlyFigure.objects.values("sender_organisation")
        .annotate(sent=Sum("sent"))
        .order_by("-sent")
        .first()
    )
    if busiest is None:
        raise SystemExit("No figures: run `manage.py referral_figures_refresh --full` first.")
    organisation = Organisation.objects.get(pk=busiest["sender_organisation"])
    membership = Membership.objects.filter(
        organisation=organisation, role=Role.MANAGER, is_active=True
    ).first()
    if membership is None:
        from tests.factories import MembershipFactory

        membership = MembershipFactory(organisation=organisation, role=Role.MANAGER)
    return membership


def _coordinator_membership() -> Membership:
    area = (
        ReferralMonthlyFigure.objects.values("employment_area")
        .annotate(sent=Sum("sent"))
        .order_by("-sent")
        .first()["employment_area"]
    )
    existing = Membership.objects.filter(
        role=Role.COORDINATOR, is_active=True, employment_areas=area
    ).first()
    if existing is not None:
        return existing
    from tests.factories import MembershipFactory

    home = (
        Organisation.objects.filter(employment_area_id=area, kind=OrganisationKind.DEPARTEMENT)
        .order_by("pk")
        .first()
        or Organisation.objects.filter(employment_area_id=area).order_by("pk").first()
    )
    membership = MembershipFactory(organisation=home, role=Role.COORDINATOR)
    membership.employment_areas.set([area])
    return membership


def _annexed_agreement(membership: Membership) -> Agreement:
    """The manager's organisation's first agreement, every available indicator annexed (the
    report's worst case: each indicator is its own computation over the period)."""
    agreement = Agreement.objects.filter(parties=membership.organisation).order_by("pk").first()
    if agreement is None:
        raise SystemExit(f"{membership.organisation.name} is party to no agreement.")
    for code in AVAILABLE_CODES:
        AgreementIndicator.objects.get_or_create(
            agreement=agreement, code=code, defaults={"target": 1, "period": "quarterly"}
        )
    return agreement


def endpoints_for(label: str, membership: Membership, pages: list[tuple[str, str]]):
    api, browser = credentials(membership)
    return [
        Endpoint(label, name, [url], api if url.startswith("/api/") else browser)
        for name, url in pages
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100, help="sequential, per endpoint/side")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"Refusing to run on {name!r}: bench databases only.")
    load_before = load_average()
    manager = _manager_membership()
    coordinator = _coordinator_membership()
    covered = coordinator.employment_areas.values_list("pk", flat=True)
    partners = Organisation.objects.filter(employment_area__in=covered).count()
    print(
        f"# Dashboard bench — {Referral.objects.count():,} referrals, "
        f"{ReferralMonthlyFigure.objects.count():,} monthly cells; gunicorn {args.workers} sync "
        f"workers; {args.samples} sequential requests per endpoint and side\n"
    )
    print(f"- manager: {manager.user.username} of {manager.organisation.name}")
    print(
        f"- coordinator: {coordinator.user.username} covering "
        f"{', '.join(str(a) for a in coordinator.employment_areas.all())} ({partners} "
        f"organisations, {Referral.objects.filter(receiver_organisation__employment_area__in=covered).aggregate(n=Count('pk'))['n']:,} "  # noqa: E501
        "referrals received there)"
    )
    endpoints = endpoints_for(
        "manager",
        manager,
        [
            ("page Tableau de bord", "/tableau-de-bord/"),
            ("page Tableau de bord, reçues", "/tableau-de-bord/?sens=recues"),
            ("API statistics", "/api/v1/statistics/referrals/"),
        ],
    )
    agreement = _annexed_agreement(manager)
    print(
        f"- agreement: « {agreement.name} », {agreement.parties.count()} parties, "
        f"{len(AVAILABLE_CODES)} indicators annexed"
    )
    endpoints += endpoints_for(
        "manager",
        manager,
        [
            ("page Indicateurs de la convention", f"/conventions/{agreement.pk}/indicateurs/"),
            (
                "CSV Indicateurs de la convention",
                f"/conventions/{agreement.pk}/indicateurs/?export=csv",
            ),
            (
                "PDF Indicateurs de la convention",
                f"/conventions/{agreement.pk}/indicateurs/?export=pdf",
            ),
            ("API indicators report", f"/api/v1/agreements/{agreement.pk}/indicators/report/"),
        ],
    )
    endpoints += endpoints_for(
        "coordinator",
        coordinator,
        [
            ("page Tableau de bord", "/tableau-de-bord/"),
            ("API statistics", "/api/v1/statistics/referrals/"),
            ("page Orientations en retard", "/territoire/orientations-en-retard/"),
            ("API overdue referrals", "/api/v1/territory/overdue-referrals/"),
        ],
    )
    captured = capture(endpoints)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as floor_sql:
        json.dump(captured, floor_sql)
    port = free_port()
    server = start_server(port, args.workers, floor_sql.name)
    try:
        sequential(port, endpoints, args.samples, args.warmup)
        print(f"\n## Sequential, interleaved (load average at the start: {load_before})")
        http_bench.sequential_table(endpoints)
        print(f"\nLoad average at the end: {load_average()}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.unlink(floor_sql.name)


if __name__ == "__main__":
    main()
