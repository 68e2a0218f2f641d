"""What a refused request must leave as it was: the rows of every table of `parcours` and
`notifications` (history and many-to-many tables included) and the newest `updated_at` of each,
read in one query. The journal is left out: a refusal is journaled on purpose, and a page shown
again journals what it shows (docs/journal.md)."""

from django.apps import apps
from django.db import connection

from parcours.models import AccessEvent, JournalCheckpoint, JournalVerification

JOURNAL = (AccessEvent, JournalCheckpoint, JournalVerification)


def _tables() -> list[tuple[str, bool]]:
    tables = []
    for app in ("parcours", "notifications"):
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            if model in JOURNAL:
                continue
            has_updated = any(f.attname == "updated_at" for f in model._meta.concrete_fields)
            tables.append((model._meta.db_table, has_updated))
    return tables


def snapshot() -> tuple:
    parts = []
    for table, has_updated in _tables():
        parts.append(f'(SELECT count(*) FROM "{table}")')  # noqa: S608 (the models' own tables)
        if has_updated:
            parts.append(f'(SELECT max(updated_at) FROM "{table}")')  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return cursor.fetchone()
