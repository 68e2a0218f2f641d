"""Field encryption: rotation throughput and the read overhead of decryption.

Run against a bench database filled by `manage.py seed_scale` (grants included), see
bench/README.md §6:

    DJANGO_SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/parcours_bench \\
    DJANGO_SETTINGS_MODULE=backend.settings.local FIELD_ENCRYPTION_KEYS=… SEARCH_INDEX_KEY=… \\
    .venv/bin/python bench/encryption_bench.py

1. Primitives: µs per Fernet decrypt / encrypt / blind-index HMAC.
2. Read overhead, in-process (Django test `Client`, no HTTP server), for a counsellor of the
   organisation that sees the most pathways: `GET /api/v1/pathways/?page_size=50`,
   `GET /api/v1/pathways/{id}/`, `GET /api/v1/persons/?page_size=50`, `GET /api/v1/persons/{id}/`,
   each interleaved request by request in two modes: **encrypted** (as shipped) and **no decrypt**
   (`EncryptedMixin.from_db_value` patched to return the token: same queries, same rows, no
   Fernet). The difference is the decryption cost; the decrypt count per request is printed too.
3. Rotation: a new key B is put first (override_settings), `rotate_field_keys` runs over the whole
   database (every encrypted value, history tables included), then rotates back to the env key so
   the database stays readable with it. Rows/s and values/s of both runs.

Never asserts on durations (timings are not tests). Refuses a database whose name lacks "bench":
scoped requests append to the access journal, and rotation rewrites every encrypted value.
"""

import io
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

import django

django.setup()

from cryptography.fernet import Fernet  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from measures import pct  # noqa: E402

from parcours import access, fields  # noqa: E402
from parcours.actor import actor_for  # noqa: E402
from parcours.management.commands.rotate_field_keys import rotation_targets  # noqa: E402
from parcours.models import Membership, Pathway, PathwayGroupObjectPermission, Role  # noqa: E402
from parcours.models.grant import permission_ids  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
WARMUP = 20
PAGE = 50

settings.DEBUG = False
settings.ALLOWED_HOSTS = ["testserver"]


def per_call_us(fn: Callable[[], object], n: int = 20000) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def primitives() -> None:
    token = fields.encrypt("prenom.nom12345@courriel.example")
    print("## Primitives (µs per call)\n")
    print("| operation | µs |\n|---|---:|")
    rows = {
        "Fernet decrypt (MultiFernet, newest key)": lambda: fields.decrypt(token),
        "Fernet encrypt": lambda: fields.encrypt("prenom.nom12345@courriel.example"),
        "blind index (HMAC-SHA256)": lambda: fields.blind_index("nir", "190056211900178"),
    }
    for label, fn in rows.items():
        print(f"| {label} | {per_call_us(fn):.1f} |")


def largest_org_user():
    view_pathway = permission_ids()["view_pathway_pathway"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT group_id, count(*) FROM {PathwayGroupObjectPermission._meta.db_table} "
            "WHERE permission_id = %s GROUP BY group_id ORDER BY 2 DESC LIMIT 1",
            [view_pathway],
        )
        group_id, visible = cursor.fetchone()
    membership = (
        Membership.objects.filter(
            organisation__group_id=group_id,
            is_active=True,
            role__in=[Role.COUNSELLOR, Role.SOCIAL_WORKER],
        )
        .select_related("user", "organisation")
        .order_by("id")
        .first()
    )
    assert membership is not None
    return membership.user, membership.organisation, visible


def read_overhead(rng: random.Random) -> None:
    user, organisation, visible = largest_org_user()
    actor = actor_for(user)
    client = Client()
    client.force_login(user)
    ids = list(access.pathways_visible_to(actor).values_list("pk", flat=True)[:20000])
    sample = [rng.choice(ids) for _ in range(REQUESTS)]
    person_of = dict(Pathway.objects.filter(pk__in=set(sample)).values_list("pk", "person_id"))
    endpoints: dict[str, Callable[[int], str]] = {
        f"pathway list (page of {PAGE})": lambda i: f"/api/v1/pathways/?page_size={PAGE}",
        "pathway detail": lambda i: f"/api/v1/pathways/{sample[i]}/",
        f"person list (page of {PAGE})": lambda i: f"/api/v1/persons/?page_size={PAGE}",
        "person detail": lambda i: f"/api/v1/persons/{person_of[sample[i]]}/",
    }
    real_decrypt = fields.decrypt
    calls = [0]

    def counting_decrypt(token: str) -> str:
        calls[0] += 1
        return real_decrypt(token)

    def no_decrypt(self, value, expression, conn):
        return value

    print(
        f"\n## Read overhead: {organisation.name} sees {visible:,} pathways, as {user.username}, "
        f"{REQUESTS} requests per mode (ms)\n"
    )
    print("| endpoint | encrypted p50 | p95 | no decrypt p50 | p95 | overhead p50 | decrypts/req |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, url_for in endpoints.items():
        timings: dict[str, list[float]] = {"encrypted": [], "plain": []}
        decrypts = []
        for i in range(-WARMUP, REQUESTS):
            url = url_for(max(i, 0))
            for mode in ("encrypted", "plain"):
                patches = (
                    [mock.patch("parcours.fields.decrypt", counting_decrypt)]
                    if mode == "encrypted"
                    else [mock.patch.object(fields.EncryptedMixin, "from_db_value", no_decrypt)]
                )
                for p in patches:
                    p.start()
                calls[0] = 0
                t0 = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - t0) * 1000
                for p in patches:
                    p.stop()
                if response.status_code != 200:
                    raise SystemExit(f"GET {url} answered {response.status_code}")
                if i >= 0:
                    timings[mode].append(elapsed)
                    if mode == "encrypted":
                        decrypts.append(calls[0])
        enc, plain = timings["encrypted"], timings["plain"]
        print(
            f"| {name} | {pct(enc, 0.5):.1f} | {pct(enc, 0.95):.1f} | {pct(plain, 0.5):.1f} | "
            f"{pct(plain, 0.95):.1f} | {pct(enc, 0.5) - pct(plain, 0.5):+.1f} | "
            f"{statistics.mean(decrypts):.0f} |"
        )


def rotation() -> None:
    current = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    rows = 0
    values = 0
    with connection.cursor() as cursor:
        for target in rotation_targets():
            cursor.execute(f"SELECT count(*) FROM {target.table}")
            n = cursor.fetchone()[0]
            rows += n
            values += n * len(target.columns)
    print(f"\n## Rotation: {rows:,} rows, {values:,} encrypted values\n")
    print("| run | seconds | rows/s | values/s |\n|---|---:|---:|---:|")
    for label, keys in (
        ("env key → new key B", [new_key, *current]),
        ("B → back to the env key", [*current, new_key]),
    ):
        with override_settings(FIELD_ENCRYPTION_KEYS=keys):
            t0 = time.perf_counter()
            call_command("rotate_field_keys", stdout=io.StringIO())
            elapsed = time.perf_counter() - t0
        print(f"| {label} | {elapsed:.1f} | {rows / elapsed:,.0f} | {values / elapsed:,.0f} |")


def main() -> None:
    name = settings.DATABASES["default"]["NAME"]
    if "bench" not in str(name):
        raise SystemExit(f"Refusing to run on {name!r}: use a bench database (bench/README.md).")
    primitives()
    read_overhead(random.Random(42))
    if os.environ.get("BENCH_SKIP_ROTATION") != "1":
        rotation()


if __name__ == "__main__":
    main()
