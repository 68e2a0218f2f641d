"""The persons list's order as an index (issue 17): an organisation that sees many people
walks it in name order and stops at the end of the page, instead of sorting everyone it sees.

CONCURRENTLY, like 0009: people are written all day. If interrupted, drop the INVALID
`person_name_order_idx` and run `migrate` again (docs/operations.md, "Indexes built
concurrently").
"""

from django.db import migrations, models

from parcours.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("parcours", "0028_journal_partitioned"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="person",
            index=models.Index(
                fields=["last_name", "first_name", "id"], name="person_name_order_idx"
            ),
        ),
    ]
