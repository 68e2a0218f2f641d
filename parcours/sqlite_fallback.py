"""What the SQLite fallback of `make run` (README, bin/run) needs beyond Django's SQLite backend.

PostgreSQL is the database; SQLite only runs the local demo when PostgreSQL and Redis are
absent. Nothing here changes the SQL sent to PostgreSQL.
"""

from django.db import NotSupportedError
from django.db.models import JSONField
from django.db.models.fields.json import DataContains


class ListContains(DataContains):
    """`json_field__contains=[…]` (PostgreSQL's `@>`, unchanged there) also on SQLite, which
    Django refuses: each scalar given is an element of the stored JSON array. The project only
    asks that of lists of ids or codes (`object_ids`, `organisation_kinds`,
    `erased_categories`); any other shape is still refused on SQLite."""

    def as_sqlite(self, compiler, connection):
        values = self.rhs
        if (
            not isinstance(values, list | tuple)
            or hasattr(values, "resolve_expression")
            or not all(isinstance(v, int | str) and not isinstance(v, bool) for v in values)
        ):
            raise NotSupportedError(
                "contains on a JSON field under SQLite: only a list of numbers or strings."
            )
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if not values:
            return f"json_type({lhs}) = 'array'", tuple(lhs_params)
        # `lhs` is the compiled column (SQL built by Django), the values are parameters.
        clause = f"EXISTS (SELECT 1 FROM json_each({lhs}) AS element WHERE element.value = %s)"  # noqa: S608
        params = []
        for value in values:
            params += [*lhs_params, value]
        return " AND ".join([clause] * len(values)), tuple(params)


def register() -> None:
    JSONField.register_lookup(ListContains)
