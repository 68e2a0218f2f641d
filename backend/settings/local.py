"""Developer machine: what `make run` uses (PostgreSQL + Redis, or the embedded fallback)."""

from .base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)  # noqa: F405

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # The SQLite fallback of `make run`: the grant intervals' uniqueness (NULLS NOT DISTINCT,
    # parcours/models/grant.py) is PostgreSQL's; the small local database does without it
    # rather than print this warning before every command.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]
