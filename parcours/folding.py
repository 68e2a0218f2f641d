"""Accent- and case-insensitive text matching for the directory's search, the same on
PostgreSQL and on the SQLite fallback of `make run`.

A counsellor types « creteil » or « Créteil », « ecole » or « École »: both find « Mission
locale de Créteil ». One table of letters (`_FOLDS`) folds the typed text in Python and the
stored names in SQL — PostgreSQL's built-in `translate()` then `lower()` (no extension to
install), a Python function registered on each SQLite connection — so both sides fold alike.
The database folds a name once, when it is written (a generated column), not at each search.
"""

from django.db.models import CharField, F, Func
from django.db.models.lookups import Contains

# Migrations hold `Folded` (the generated `name_folded` columns): a change to these two strings
# needs a migration that drops and re-adds those columns, or old rows keep the old folding.
# Accented letters of French (and the neighbours a name may carry) → their base letter.
_ACCENTED = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸ"
_BASE = "aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUYY"
# A typo in either string would shift every letter after it.
assert len(_ACCENTED) == len(_BASE)
_FOLDS = str.maketrans(_ACCENTED, _BASE)
SQLITE_FUNCTION = "parcours_fold"


def fold(text: str) -> str:
    """« Œuvre d'Éducation » → « œuvre d'education »: accents off, lower case."""
    return text.translate(_FOLDS).lower()


class Folded(Func):
    """The SQL of `fold` on a column."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"LOWER(TRANSLATE({sql}, %s, %s))", (*params, _ACCENTED, _BASE)

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{SQLITE_FUNCTION}({sql})", tuple(params)


def folded_contains(field: str, text: str) -> Contains:
    """A filter: the folded `field` contains the folded `text`. A model that is searched this
    way keeps its folded `<field>_folded` column (a GeneratedField of `Folded(field)`), read here:
    folding every row's name at each keystroke cost 30 ms for 10,000 services."""
    return Contains(F(f"{field}_folded"), fold(text))


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """On each new SQLite connection (the local fallback), the SQL side of `fold`."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 1, _fold_or_null, deterministic=True)


def _fold_or_null(value):
    return None if value is None else fold(value)
