"""Developer machine: what `make run` uses (PostgreSQL + Redis, or the embedded fallback)."""

from .base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)  # noqa: F405
