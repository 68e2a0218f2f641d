#!/bin/sh
# Database roles of the compose stack (docs/operations.md, "Database roles"). Run once by the
# postgres image, as the postgres superuser, when the database volume is first created
# (/docker-entrypoint-initdb.d); later changes need the SQL of docs/operations.md.
#   parcours_owner  owns the database and its tables: the `migrate` service only. No superuser:
#                   the journal's trigger refuses it TRUNCATE, and only it could switch the
#                   trigger off (which the signed checkpoints then reveal).
#   parcours_app    web, worker and beat. Its privileges come from `manage.py db_grant_app_role`,
#                   run by the migrate service after every migrate.
# Passwords come from .env (PARCOURS_DB_OWNER_PASSWORD, PARCOURS_DB_APP_PASSWORD); without them
# (laptop mode, trust authentication) the roles have none.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" \
  -v owner_password="${PARCOURS_DB_OWNER_PASSWORD:-}" \
  -v app_password="${PARCOURS_DB_APP_PASSWORD:-}" <<'SQL'
CREATE ROLE parcours_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE ROLE parcours_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
SELECT format('ALTER ROLE parcours_owner PASSWORD %L', :'owner_password')
  WHERE :'owner_password' <> '' \gexec
SELECT format('ALTER ROLE parcours_app PASSWORD %L', :'app_password')
  WHERE :'app_password' <> '' \gexec
-- The owner of the database owns its public schema (PostgreSQL 15+: pg_database_owner).
ALTER DATABASE :"db" OWNER TO parcours_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO parcours_app;
SQL
