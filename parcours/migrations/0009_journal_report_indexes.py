"""Partial GIN indexes for the person's access report (issue 7): the list pages of the journal
that showed one of the person's records, found by `object_ids @> '[<id>]'`, one index per
object type.

CONCURRENTLY: the journal is written by every request, and a plain CREATE INDEX would block
those INSERTs for the whole build (~35 s per index on 10 M rows on the bench machine,
docs/performance.md). CREATE INDEX CONCURRENTLY cannot run inside a transaction, hence
`atomic = False`. If the migration is interrupted, it is not recorded and PostgreSQL leaves an
INVALID index behind: drop the `journal_listed_*` indexes that exist and run `migrate` again
(docs/operations.md, "Indexes built concurrently").
"""

import django.contrib.postgres.indexes
from django.db import migrations, models

from parcours.migration_operations import AddIndexConcurrentlyOnPostgres


def _listed_index(object_type: str) -> django.contrib.postgres.indexes.GinIndex:
    return django.contrib.postgres.indexes.GinIndex(
        condition=models.Q(("object_type", object_type), ("operation", "list")),
        fastupdate=False,
        fields=["object_ids"],
        name=f"journal_listed_{object_type}s_idx",
        opclasses=["jsonb_path_ops"],
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("parcours", "0008_dpo_reports_and_rights_requests"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(model_name="accessevent", index=_listed_index(object_type))
        for object_type in ("person", "pathway", "referral")
    ]
