# parcours — one image for web (gunicorn), Celery worker, Celery beat and the migrate job.
# Dependencies come from uv.lock only (uv sync --frozen): the image runs what the tests ran.
# Build: docker compose build   (see docs/operations.md)

FROM python:3.11-slim

# Same uv version as the bootstrap in bin/_lib.sh (UV_VERSION).
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /usr/local/bin/

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    VIRTUAL_ENV=/app/.venv \
    PATH="/app/.venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=backend.settings.production

WORKDIR /app

# The application runs as an unprivileged user; only var/ (static files, beat schedule) is
# writable by it.
RUN groupadd --system --gid 10001 parcours \
    && useradd --system --uid 10001 --gid parcours --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin parcours

# Dependencies first (cached layer while uv.lock does not change). psycopg[binary] ships its own
# libpq, so no system packages are needed.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
RUN mkdir -p var/static var/media var/run && chown -R parcours:parcours var

USER parcours

# collectstatic loads the production settings, which insist on DJANGO_SECRET_KEY, DATABASE_URL,
# FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY: build-only placeholders (no database is opened, nothing
# is encrypted). They are not kept in the image. The secret key is drawn at random: production
# refuses a weak one (docs/security.md).
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    FIELD_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1idWlsZC1vbmx5LWtleS0wMDE= \
    SEARCH_INDEX_KEY=Y29sbGVjdHN0YXRpYy1idWlsZC1vbmx5LWtleS0wMDI= \
    python manage.py collectstatic --no-input -v 0

EXPOSE 8000

# The compose file overrides the command for worker, beat and migrate.
# Gunicorn also reads GUNICORN_CMD_ARGS (e.g. "--workers 5 --timeout 60") from the environment.
CMD ["gunicorn", "backend.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
