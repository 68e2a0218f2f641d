"""`make run` without PostgreSQL and Redis falls back to SQLite (README, bin/run): every migration
must apply there, and the JSON containment, the list journal and the directory's accent-insensitive
search the pages use must work there.

One subprocess with the local settings on an in-memory SQLite database: ~8 s of CPU, most of it
applying the migrations (PostgreSQL-only SQL in a migration fails here first).
"""

import json
import os
import subprocess
import sys

from cryptography.fernet import Fernet

SCRIPT = """
import json
import django

django.setup()
from django.core.management import call_command
from django.db import connection

call_command("migrate", verbosity=0)
from django.db.migrations.executor import MigrationExecutor

executor = MigrationExecutor(connection)
pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
from parcours.models import AccessEvent

rows = {
    name: AccessEvent.objects.create(
        operation="list", object_type="pathway", object_ids=ids, categories=categories
    ).pk
    for name, ids, categories in [
        ("a", [1, 2], ["identity", "pathway"]),
        ("b", [2, 3], ["pathway"]),
        ("c", [], []),
    ]
}
names = {pk: name for name, pk in rows.items()}


# The gate's list journal has a branch of its own outside PostgreSQL (no unnest).
from parcours.gate import Action
from parcours.gate.journal import Seen, record_list

written = record_list(
    None,
    Action.PATHWAY_LIST,
    object_type="referral",
    items=[
        (7, Seen(categories=frozenset({"identity"}), basis=frozenset({"legal:owner"}))),
        (9, Seen()),
        (8, Seen(categories=frozenset({"identity"}), basis=frozenset({"legal:owner"}))),
    ],
)
listed = sorted(
    AccessEvent.objects.filter(object_type="referral").values_list("object_ids", "basis")
)


def found(**lookup):
    matching = AccessEvent.objects.filter(pk__in=names, **lookup).values_list("pk", flat=True)
    return sorted(names[pk] for pk in matching)


# The directory's accent-insensitive search (parcours/folding.py) on SQLite too.
from parcours.models import EmploymentArea, Organisation
from parcours.folding import folded_contains

area = EmploymentArea.objects.create(code="9401", name="Créteil", departement="94")
from django.contrib.auth.models import Group

for siret, name, kind in [
    ("13000548100010", "École de la deuxième chance de Créteil", "association"),
    ("13000548100028", "CCAS", "ccas"),
]:
    group = Group.objects.create(name=f"organisation:{siret}")
    Organisation.objects.create(
        siret=siret, name=name, kind=kind, employment_area=area, group=group
    )
folded = sorted(
    Organisation.objects.filter(folded_contains("name", "CRETEIL")).values_list("name", flat=True)
)

# The managers' statistics: the refresh's GROUP BYs (month in Paris time, durations, the first
# appointment's subquery) on SQLite too — `make run` computes them at the end of seed_demo.
import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone

from parcours.models import Appointment, Pathway, Person, Referral, ReferralMonthlyFigure
from parcours.services.referral_figures import referral_figures_refresh

sender, receiver = Organisation.objects.order_by("pk")
user = User.objects.create(username="conseillere")
sent_at = timezone.now() - dt.timedelta(days=3)
person = Person.objects.create(first_name="Léa", last_name="Martin", birth_date=dt.date(1990, 1, 2))
pathway = Pathway.objects.create(
    person=person, owner_organisation=sender, referent_organisation=sender, opened_at=sent_at
)
referral = Referral.objects.create(
    pathway=pathway, sender_organisation=sender, sender_user=user, receiver_organisation=receiver,
    kind="substitution", reason="Chantier", status="accepted", created_at=sent_at,
    sent_at=sent_at, accepted_at=sent_at + dt.timedelta(days=1),
)
Appointment.objects.create(
    referral=referral, starts_at=sent_at + dt.timedelta(days=2), created_by=user,
    outcome="attended", outcome_recorded_at=sent_at + dt.timedelta(days=2, hours=1),
)
referral_figures_refresh(full=True)
figure = ReferralMonthlyFigure.objects.get()
statistics = [
    figure.sent, figure.answered, figure.answer_seconds, figure.with_appointment,
    figure.appointment_seconds, figure.appointments_attended,
]

# The dashboard reads them by the ORM there (no grouping sets), a manager's and a coordinator's.
from parcours.actor import Actor
from parcours.models import Membership
from parcours.selectors.referral_statistics import referral_statistics_for, statistics_filters

coordinator_user = User.objects.create(username="coordinatrice")
Membership.objects.create(
    user=coordinator_user, organisation=receiver, role="coordinator"
).employment_areas.set([area])
dashboards = []
for actor in (
    Actor(user=user, organisation=sender, role="manager"),
    Actor(user=coordinator_user, organisation=receiver, role="coordinator"),
):
    read = referral_statistics_for(actor, statistics_filters())
    sent = read.indicator("sent")
    dashboards.append([
        [sent.total.value, sent.total.suppressed],
        [[row.name, row.cells[0].suppressed] for row in read.partners + read.areas + read.services],
    ])

print(json.dumps({
    "statistics": statistics,
    "dashboards": dashboards,
    "folded": folded,
    "vendor": connection.vendor,
    "pending": [str(migration) for migration, _backwards in pending],
    "ids_2": found(object_ids__contains=[2]),
    "ids_1_2": found(object_ids__contains=[1, 2]),
    "ids_1_3": found(object_ids__contains=[1, 3]),
    "ids_none": found(object_ids__contains=[]),
    "identity": found(categories__contains=["identity"]),
    "not_shown": found(categories__contains=["health"]),
    "written": written,
    "listed": listed,
}))
"""


def test_the_sqlite_fallback_migrates_and_answers_json_containment():
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABASE_", "DJANGO_", "CELERY_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "sqlite://:memory:",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SEARCH_INDEX_KEY": Fernet.generate_key().decode(),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "W047" not in result.stderr  # silenced for the fallback (backend/settings/local.py)
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["vendor"] == "sqlite"
    assert answer["pending"] == []
    # PostgreSQL's `@>` on arrays of scalars: every element given is in the stored array.
    assert answer["ids_2"] == ["a", "b"]
    assert answer["ids_1_2"] == ["a"]
    assert answer["ids_1_3"] == []
    assert answer["ids_none"] == ["a", "b", "c"]
    assert answer["identity"] == ["a"]
    assert answer["not_shown"] == []
    assert answer["written"] == 2
    assert answer["listed"] == [[[7, 8], "legal:owner"], [[9], ""]]
    # One referral answered after a day, its appointment two days after it was sent.
    assert answer["statistics"] == [1, 1, 86400, 1, 2 * 86400, 1]
    # Read back by the dashboard: one referral, « < 5 » everywhere; the manager's partner is the
    # CCAS, the coordinator's organisations of Créteil both (only the École sent it).
    assert answer["dashboards"] == [
        [[None, True], [["CCAS", True], ["Service non précisé", True]]],
        [
            [None, True],
            [
                ["École de la deuxième chance de Créteil", True],
                ["Créteil", True],
                ["Service non précisé", True],
            ],
        ],
    ]
    # « CRETEIL » finds « Créteil », as on PostgreSQL.
    assert answer["folded"] == ["École de la deuxième chance de Créteil"]
