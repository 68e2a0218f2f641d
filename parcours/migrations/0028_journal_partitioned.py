"""The access journal partitioned by month (issue 17, parcours/journal_partitions.py).

The chain's rank becomes unique together with `occurred_at` (PostgreSQL requires the partition
key in every unique constraint), then the plain table is turned into the partitioned one: rows
copied into their months, every index, constraint and foreign key rebuilt. On a large journal
this copies it once (about a minute per 10 M rows on the 2-core reference machine): plan it in a
maintenance window (docs/operations.md). Run `manage.py db_grant_app_role` after it, as after
every migrate: the new table's privileges are the application role's default ones until then.
Other engines (the SQLite fallback): the models' state only — rebuilding the table there would
try to create the PostgreSQL-only GIN indexes; a rank unique on its own is stricter anyway.
"""

from django.db import migrations, models


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from parcours.journal_partitions import PARTITIONED_MARK, partition_journal_table

    table = apps.get_model("parcours", "AccessEvent")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname FROM pg_constraint AS c JOIN pg_attribute AS a "
            "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.conrelid = to_regclass(%s) AND c.contype = 'u' "
            "AND a.attname = 'chain_seq' AND cardinality(c.conkey) = 1",
            [table],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{PARTITIONED_MARK}" '
            "UNIQUE (chain_seq, occurred_at)"
        )
        partition_journal_table(cursor, table=table)


class Migration(migrations.Migration):
    dependencies = [
        ("parcours", "0027_key_canary"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="accessevent",
                    name="chain_seq",
                    field=models.BigIntegerField(
                        blank=True, null=True, verbose_name="rang dans la chaîne"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="accessevent",
                    constraint=models.UniqueConstraint(
                        fields=("chain_seq", "occurred_at"), name="journal_chain_seq_unique"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(partition, migrations.RunPython.noop)],
        ),
    ]
