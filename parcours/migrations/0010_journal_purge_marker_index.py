"""A partial index on the journal's purge markers (issue 7): the integrity report and
`journal_verify` look for the newest marker; without an index that walk reads the whole journal
backwards when there is none. Tiny (one row per purge), built CONCURRENTLY like 0009 (the journal
is written by every request): `atomic = False`; an interrupted run leaves an INVALID index to
drop before running `migrate` again (docs/operations.md, "Indexes built concurrently")."""

from django.db import migrations, models

from parcours.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("parcours", "0009_journal_report_indexes"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="accessevent",
            index=models.Index(
                condition=models.Q(("operation", "purge_marker")),
                fields=["id"],
                name="journal_purge_marker_idx",
            ),
        ),
    ]
