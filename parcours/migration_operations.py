"""Migration operations that keep PostgreSQL's behaviour and let the SQLite fallback of
`make run` (README, bin/run) migrate too.

Migrations import this module: its operations must keep doing what they did when a migration
first used them.
"""

from django.contrib.postgres.indexes import PostgresIndex
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, exactly as `AddIndexConcurrently`. On another
    engine (SQLite, the local fallback) a plain CREATE INDEX, and nothing for an index only
    PostgreSQL has (GIN, …): the small local database does without it. The index stays in the
    migration state either way."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        elif not isinstance(self.index, PostgresIndex):
            migrations.AddIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        elif not isinstance(self.index, PostgresIndex):
            migrations.AddIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )
