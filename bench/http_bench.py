"""What a counsellor waits for, over real HTTP, against a floor (issue 17).

Run against a database filled by `manage.py seed_scale` (grants included), see bench/README.md §10:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench_http \\
    FIELD_ENCRYPTION_KEYS=… SEARCH_INDEX_KEY=… .venv/bin/python bench/http_bench.py

It starts gunicorn as production does (sync workers, `backend.wsgi`, production's settings plus
one floor view: bench/http_bench_settings.py, bench/http_bench_urls.py) on a free local port, and
requests, for the organisation that sees the most pathways and one that sees ~700 (as
bench/access_bench.py picks them), as a counsellor of each:

- the API as a partner system calls it, with a token (`Authorization: Token …`, made like
  `tests.factories.api_token_for`): pathways, referrals received and sent, persons (first page),
  a pathway, a person, a referral, `/api/v1/me/`;
- the pages as a browser does, with a session cookie (a session row made by `force_login`):
  « Orientations reçues », the person page (the pathway's page: there is no other), « Personnes
  suivies », a referral's page.

The floor of each request: its SQL, captured once per URL in-process (Django's test `Client`
with the same token or cookie, `CaptureQueriesContext`), replayed by the floor view through a
plain psycopg connection per worker in a transaction rolled back, rows returned as JSON — so the
floor costs network + WSGI + the database. Project and floor run interleaved request by request
(sequential, `--samples` each), then `--clients` threads hammer the mix of every endpoint for
`--duration` seconds per side (project, floor, floor, project: halves), each request on its own
connection (gunicorn's sync workers close after each answer).

It prints markdown tables (p50 / p95 / max, ratio, SQL per request, req/s) and the load average;
it never asserts (timings are not tests). `--analyse WORD` prints, for the endpoints whose label
contains WORD: each SQL statement with its replay time, and a profile of one in-process request
(`--analyse-only`: that alone, no server).
It refuses a database whose name lacks "bench": every request journals, and it adds a token and
a session per organisation (left in place, expiring in a day). A database with no alert yet gets
those the alert scan raises on it first (`alerts_scan`, as the beat runs it: every referral past
its answer or appointment delay), so that every page's header counts real unresolved alerts.
"""

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
# One settings module for this process and the server; one secret key for both (the sessions
# the bench makes must be valid in the workers), strong enough for production's check.
os.environ["DJANGO_SETTINGS_MODULE"] = "http_bench_settings"
os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from measures import (  # noqa: E402
    SERVER_SIDE_CURSOR,
    counsellor_membership,
    floor_connection,
    large_and_small,
    load_average,
    pct,
    replay_each,
)

from notifications.models import Alert  # noqa: E402
from notifications.services.alerts import alerts_scan  # noqa: E402
from parcours import access  # noqa: E402
from parcours.actor import actor_for  # noqa: E402
from parcours.models import Pathway, Person, Referral  # noqa: E402

HOST = "127.0.0.1"
# What the TLS-terminating proxy tells the app (production's SECURE_PROXY_SSL_HEADER).
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


@dataclass
class Endpoint:
    organisation: str
    label: str
    urls: list[str]
    headers: dict[str, str]  # the client's credentials (token or cookie)
    keys: list[str] = field(default_factory=list)  # floor keys, one per URL
    queries: list[int] = field(default_factory=list)
    project: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)


# --- Set-up ---------------------------------------------------------------------------------------


def credentials(membership) -> tuple[dict[str, str], dict[str, str]]:
    """The API token header and the session cookie of a counsellor."""
    from tests.factories import api_token_for

    # The token's own rate is still counted in Redis on every request (as in production), set
    # high enough never to refuse the bench.
    _token, secret = api_token_for(
        membership, days=1, requests_per_minute=10_000_000, system_name="Banc d'essai HTTP"
    )
    client = Client()
    client.force_login(membership.user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return (
        {"Authorization": f"Token {secret}"},
        {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
    )


def endpoints_for(label: str, organisation, visible: int, records: int, rng) -> list[Endpoint]:
    membership = counsellor_membership(organisation)
    actor = actor_for(membership.user, organisation.pk)
    api, browser = credentials(membership)
    pathway_ids = list(access.pathways_visible_to(actor).values_list("pk", flat=True)[:20000])
    pathways = rng.sample(pathway_ids, min(records, len(pathway_ids)))
    persons = list(
        Pathway.objects.filter(pk__in=pathways).order_by("pk").values_list("person_id", flat=True)
    )
    # Referrals it may open: the first page of its inbox as the API lists it.
    inbox = Endpoint(label, "", [], api)
    received = [
        r["id"]
        for r in in_process(inbox, f"/api/v1/referrals/?receiver={organisation.pk}").json()[
            "results"
        ]
    ]
    referrals = rng.sample(received, min(records, len(received)))
    print(
        f"- {label}: {organisation.name} ({organisation.kind}, id {organisation.pk}) sees "
        f"{visible:,} pathways, receives {Referral.objects.filter(receiver_organisation=organisation).count():,} "  # noqa: E501
        f"referrals; as {membership.user.username} ({membership.role})"
    )
    o = organisation.pk
    return [
        Endpoint(label, "API pathways", ["/api/v1/pathways/"], api),
        Endpoint(label, "API referrals received", [f"/api/v1/referrals/?receiver={o}"], api),
        Endpoint(label, "API referrals sent", [f"/api/v1/referrals/?sender={o}"], api),
        Endpoint(label, "API persons", ["/api/v1/persons/"], api),
        Endpoint(label, "API pathway", [f"/api/v1/pathways/{p}/" for p in pathways], api),
        Endpoint(label, "API person", [f"/api/v1/persons/{p}/" for p in persons], api),
        Endpoint(label, "API referral", [f"/api/v1/referrals/{r}/" for r in referrals], api),
        Endpoint(label, "API me", ["/api/v1/me/"], api),
        Endpoint(label, "page Orientations reçues", ["/orientations/recues/"], browser),
        Endpoint(label, "page person (pathway)", [f"/personnes/{p}/" for p in persons], browser),
        Endpoint(label, "page Personnes suivies", ["/personnes/suivies/"], browser),
        Endpoint(label, "page referral", [f"/orientations/{r}/" for r in referrals], browser),
        # The pages a counsellor opens every day besides (2026-12-07, sixth session): the home's
        # six work lists, the open alerts, what they sent.
        Endpoint(label, "page À traiter", ["/"], browser),
        Endpoint(label, "page Alertes", ["/alertes/"], browser),
        Endpoint(label, "page Orientations envoyées", ["/orientations/envoyees/"], browser),
    ]


def in_process(endpoint: Endpoint, url: str):
    """The request through Django's test Client, with the endpoint's credentials."""
    client = Client(HTTP_HOST=HOST)
    headers = {**PROXY_HEADERS, **endpoint.headers}
    cookie = headers.pop("Cookie", None)
    if cookie:
        name, value = cookie.split("=", 1)
        client.cookies[name] = value
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.content[:300]!r}")
    return response


def capture(endpoints: list[Endpoint]) -> dict[str, list[str]]:
    captured = {}
    for e_index, endpoint in enumerate(endpoints):
        for u_index, url in enumerate(endpoint.urls):
            in_process(endpoint, url)  # warm: the first request fills per-session caches
            with CaptureQueriesContext(connection) as queries:
                in_process(endpoint, url)
            key = f"{endpoint.organisation}-{e_index}-{u_index}"
            captured[key] = [q["sql"] for q in queries.captured_queries]
            endpoint.keys.append(key)
            endpoint.queries.append(len(queries.captured_queries))
    return captured


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, floor_sql: str) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = {**os.environ, "BENCH_FLOOR_SQL": floor_sql}
    server = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn, fixed arguments)
        [
            str(gunicorn),
            "backend.wsgi",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--chdir",
            str(ROOT),
            "--pythonpath",
            f"{ROOT},{BENCH}",
            "--log-level",
            "warning",
            "--backlog",
            "512",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = fetch(port, "/healthz", {})
            if status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            raise SystemExit("gunicorn exited at start-up")
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


# --- Requests -------------------------------------------------------------------------------------


def fetch(port: int, url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection_ = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        connection_.request("GET", url, headers={**PROXY_HEADERS, **headers})
        response = connection_.getresponse()
        return response.status, response.read()
    finally:
        connection_.close()


def timed(port: int, url: str, headers: dict[str, str]) -> float:
    t0 = time.perf_counter()
    status, body = fetch(port, url, headers)
    elapsed = (time.perf_counter() - t0) * 1000
    if status != 200:
        raise SystemExit(f"GET {url} answered {status}: {body[:300]!r}")
    return elapsed


def floor_url(key: str) -> str:
    return f"/__bench_floor__/{key}/"


def sequential(port: int, endpoints: list[Endpoint], samples: int, warmup: int) -> None:
    for i in range(warmup):
        for endpoint in endpoints:
            k = i % len(endpoint.urls)
            timed(port, endpoint.urls[k], endpoint.headers)
            timed(port, floor_url(endpoint.keys[k]), {})
    for i in range(samples):
        for endpoint in endpoints:
            k = i % len(endpoint.urls)
            endpoint.project.append(timed(port, endpoint.urls[k], endpoint.headers))
            endpoint.floor.append(timed(port, floor_url(endpoint.keys[k]), {}))


def concurrent(port: int, endpoints: list[Endpoint], side: str, clients: int, seconds: float):
    """`clients` threads, each walking the mix of endpoints from its own offset (every endpoint
    as often, its records in turn), until the deadline: (requests, errors, seconds,
    {endpoint label: [ms]})."""
    times: dict[str, list[float]] = defaultdict(list)
    counts = {"done": 0, "errors": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset: int) -> None:
        mine: list[tuple[str, float]] = []
        errors = 0
        n = offset
        while time.perf_counter() < deadline:
            endpoint = endpoints[n % len(endpoints)]
            k = (n // len(endpoints)) % len(endpoint.urls)
            n += 1
            url, headers = (
                (endpoint.urls[k], endpoint.headers)
                if side == "project"
                else (floor_url(endpoint.keys[k]), {})
            )
            t0 = time.perf_counter()
            try:
                status, _ = fetch(port, url, headers)
            except OSError:
                status = 0
            if status != 200:
                errors += 1
                continue
            mine.append((endpoint.label, (time.perf_counter() - t0) * 1000))
        with lock:
            for label, ms in mine:
                times[label].append(ms)
            counts["done"] += len(mine)
            counts["errors"] += errors

    # Offsets spread over endpoints and records: the clients do not move in step.
    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(clients)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["done"], counts["errors"], time.perf_counter() - t0, times


# --- Reports --------------------------------------------------------------------------------------


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} / {pct(values, 0.95):.1f} / {max(values):.1f}"


def sequential_table(endpoints: list[Endpoint]) -> None:
    print(
        "\n| organisation | endpoint | SQL / request | project p50 / p95 / max ms "
        "| floor p50 / p95 / max ms | ratio p50 / p95 |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for e in endpoints:
        queries = f"{min(e.queries)}" + (
            f"–{max(e.queries)}" if max(e.queries) != min(e.queries) else ""
        )
        print(
            f"| {e.organisation} | {e.label} | {queries} | {ms(e.project)} | {ms(e.floor)} "
            f"| {statistics.median(e.project) / statistics.median(e.floor):.2f} "
            f"/ {pct(e.project, 0.95) / pct(e.floor, 0.95):.2f} |"
        )


def plan_times(database, statements: list[str]) -> list[tuple[float, float]]:
    """Each statement's planning and execution time as PostgreSQL counts them (EXPLAIN ANALYZE's
    summary, timing of the nodes off), in order, in one transaction rolled back. A wide SELECT
    of many joins can spend longer being planned than run: the planner carries every selected
    column through each join order it considers."""
    found = []
    try:
        with database.cursor() as cursor:
            for statement in statements:
                text = SERVER_SIDE_CURSOR.sub("", statement)
                if (
                    not text.lstrip()
                    .upper()
                    .startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"))
                ):
                    cursor.execute(text.encode())
                    found.append((0.0, 0.0))
                    continue
                cursor.execute(b"EXPLAIN (ANALYZE, SUMMARY, TIMING OFF) " + text.encode())
                lines = [row[0] for row in cursor.fetchall()]
                times = {
                    line.split(":")[0].strip(): float(line.split(":")[1].split()[0])
                    for line in lines
                    if line.startswith(("Planning Time", "Execution Time"))
                }
                found.append((times.get("Planning Time", 0.0), times.get("Execution Time", 0.0)))
    finally:
        database.rollback()
    return found


def analyse(endpoints: list[Endpoint], word: str, captured: dict[str, list[str]]) -> None:
    database = floor_connection()
    for endpoint in endpoints:
        if word.lower() not in endpoint.label.lower():
            continue
        key, url = endpoint.keys[0], endpoint.urls[0]
        statements = captured[key]
        print(f"\n### {endpoint.organisation} — {endpoint.label}: `{url}`\n")
        print(
            "| # | replay p50 ms | planning / execution p50 ms | statement (first 160 characters) |"
        )
        print("|---:|---:|---:|---|")
        runs = [replay_each(database, statements) for _ in range(15)]
        planned = [plan_times(database, statements) for _ in range(7)]
        for n, statement in enumerate(statements):
            took = statistics.median(run[n] for run in runs)
            plan, execution = (statistics.median(run[n][i] for run in planned) for i in (0, 1))
            text = " ".join(statement.split())[:160].replace("|", "\\|")
            print(f"| {n + 1} | {took:.2f} | {plan:.2f} / {execution:.2f} | `{text}` |")
        print(f"| | **{statistics.median(sum(run) for run in runs):.1f}** | all |")
        medians = [statistics.median(run[n] for run in runs) for n in range(len(statements))]
        slowest = max(range(len(statements)), key=medians.__getitem__)
        # Its plan, after the statements before it (rolled back like the replays).
        with database.cursor() as cursor:
            for statement in statements[:slowest]:
                cursor.execute(SERVER_SIDE_CURSOR.sub("", statement).encode())
            cursor.execute(
                b"EXPLAIN (ANALYZE, BUFFERS) "
                + SERVER_SIDE_CURSOR.sub("", statements[slowest]).encode()
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
        database.rollback()
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of statement {slowest + 1}:\n\n```\n{plan}\n```")
        print(f"\n```sql\n{statements[slowest]}\n```")
        profile = cProfile.Profile()
        in_process(endpoint, url)
        profile.enable()
        for _ in range(5):
            in_process(endpoint, url)
        profile.disable()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        # The project's own functions by cumulative time, then everything by own time.
        stats.sort_stats("cumulative").print_stats(r"/(parcours|web|notifications)/", 25)
        stats.sort_stats("tottime").print_stats(15)
        print(f"\nProfile of 5 in-process requests:\n\n```\n{out.getvalue()}```")
    database.close()


def cpu(endpoints: list[Endpoint], words: list[str], requests: int) -> None:
    """Each matching endpoint `requests` times in-process (its URLs in turn, after one warm-up
    each): the wall time and this process's CPU time per request. On a shared, loaded machine
    the CPU time is the steadier measure of what Python costs (the wall time waits for the
    other processes and for PostgreSQL); the function calls per request (cProfile, 20 requests)
    do not depend on the load at all."""
    print(f"\n## In-process, {requests} requests per endpoint (load average {load_average()})\n")
    print("| organisation | endpoint | wall p50 ms | CPU p50 / mean ms | calls / request |")
    print("|---|---|---:|---:|---:|")
    for endpoint in endpoints:
        if not any(word.lower() in endpoint.label.lower() for word in words):
            continue
        for url in endpoint.urls:
            in_process(endpoint, url)
        walls, cpus = [], []
        for n in range(requests):
            url = endpoint.urls[n % len(endpoint.urls)]
            wall, started = time.perf_counter(), time.process_time()
            in_process(endpoint, url)
            cpus.append((time.process_time() - started) * 1000)
            walls.append((time.perf_counter() - wall) * 1000)
        profile = cProfile.Profile()
        for n in range(20):
            profile.enable()
            in_process(endpoint, endpoint.urls[n % len(endpoint.urls)])
            profile.disable()
        calls = pstats.Stats(profile).total_calls / 20
        print(
            f"| {endpoint.organisation} | {endpoint.label} | {statistics.median(walls):.1f} "
            f"| {statistics.median(cpus):.1f} / {statistics.mean(cpus):.1f} | {calls:,.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=int, default=200, help="sequential, per endpoint and side (0: none)"
    )
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--records", type=int, default=20, help="records per detail endpoint")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per side and org")
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--analyse", action="append", default=[], metavar="WORD")
    parser.add_argument(
        "--analyse-only", action="store_true", help="no server: only the --analyse part"
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=0,
        metavar="N",
        help="with --analyse-only: N in-process requests per endpoint the --analyse words match "
        "(all API endpoints without any), wall and CPU time and function calls per request",
    )
    args = parser.parse_args()

    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise SystemExit(f"Refusing to run on {name!r}: bench databases only.")
    if not Alert.objects.exists():
        # A first deployment's backlog: at 1 M pathways ~320,000 alerts, a quarter of an hour.
        print("Raising the alerts of the data first (the alert scan)…", flush=True)
        raised = alerts_scan(now=timezone.now()).raised
        print(f"(the alert scan raised {sum(raised.values()):,} alerts first: {raised})\n")
    load_before = load_average()
    rng = random.Random(17)
    print(
        f"# HTTP bench — {Pathway.objects.count():,} pathways, {Person.objects.count():,} "
        f"persons, {Referral.objects.count():,} referrals, "
        f"{Alert.objects.exclude(state='resolved').count():,} unresolved alerts; "
        f"gunicorn {args.workers} sync workers; "
        f"{args.samples} sequential requests per endpoint and side, {args.clients} clients × "
        f"{args.duration:.0f} s per side\n"
    )
    endpoints: list[Endpoint] = []
    for label, organisation, visible in large_and_small():
        endpoints += endpoints_for(label, organisation, visible, args.records, rng)
    captured = capture(endpoints)
    if args.analyse_only:
        if args.cpu:
            cpu(endpoints, args.analyse or ["API"], args.cpu)
            return
        for word in args.analyse:
            analyse(endpoints, word, captured)
        return

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as floor_sql:
        json.dump(captured, floor_sql)
    port = free_port()
    server = start_server(port, args.workers, floor_sql.name)
    try:
        if args.samples:
            sequential(port, endpoints, args.samples, args.warmup)
            print(f"\n## Sequential, interleaved (load average at the start: {load_before})")
            sequential_table(endpoints)
            print(f"\nLoad average after the sequential part: {load_average()}")

        print(f"\n## {args.clients} concurrent clients, the mix of every endpoint\n")
        print(
            "| organisation | side | requests | errors | req/s | p50 / p95 / max ms "
            "| throughput project / floor |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        per_endpoint = []
        for organisation in dict.fromkeys(e.organisation for e in endpoints):
            mine = [e for e in endpoints if e.organisation == organisation]
            totals = {"project": [0, 0, 0.0], "floor": [0, 0, 0.0]}
            times: dict[str, dict[str, list[float]]] = {"project": {}, "floor": {}}
            for side in ("project", "floor", "floor", "project"):
                done, errors, took, by_label = concurrent(
                    port, mine, side, args.clients, args.duration / 2
                )
                totals[side][0] += done
                totals[side][1] += errors
                totals[side][2] += took
                for label, values in by_label.items():
                    times[side].setdefault(label, []).extend(values)
            rate = {side: t[0] / t[2] for side, t in totals.items()}
            for side in ("project", "floor"):
                every = [v for values in times[side].values() for v in values]
                print(
                    f"| {organisation} | {side} | {totals[side][0]:,} | {totals[side][1]} "
                    f"| {rate[side]:.0f} | {ms(every) if every else '–'} "
                    f"| {rate['project'] / rate['floor']:.0%} |"
                )
            per_endpoint.append((organisation, mine, times))
        print(f"\nLoad average after the concurrent part: {load_average()}")
        print(f"\n### Per endpoint under {args.clients} clients (p50 / p95 ms)\n")
        print("| organisation | endpoint | project | floor | ratio p95 |")
        print("|---|---|---:|---:|---:|")
        for organisation, mine, times in per_endpoint:
            for e in mine:
                p, f = times["project"].get(e.label, []), times["floor"].get(e.label, [])
                if p and f:
                    print(
                        f"| {organisation} | {e.label} "
                        f"| {statistics.median(p):.0f} / {pct(p, 0.95):.0f} "
                        f"| {statistics.median(f):.0f} / {pct(f, 0.95):.0f} "
                        f"| {pct(p, 0.95) / pct(f, 0.95):.1f} |"
                    )
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.unlink(floor_sql.name)
    for word in args.analyse:
        analyse(endpoints, word, captured)


if __name__ == "__main__":
    main()
