#!/bin/sh
# The streaming replica's role (docker-compose.production.yml; docs/operations.md, « Read
# replica »). Run once by the postgres image when the primary's volume is first created. Does
# nothing without PARCOURS_DB_REPLICATION_PASSWORD (the laptop stack of docker-compose.yml has no
# replica).
#   parcours_replicator  REPLICATION only: streams the WAL to the replica (pg_basebackup, then
#                        the WAL receiver); it reads no table.
set -eu
if [ -z "${PARCOURS_DB_REPLICATION_PASSWORD:-}" ]; then
  exit 0
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="$PARCOURS_DB_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE parcours_replicator LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE;
SELECT format('ALTER ROLE parcours_replicator PASSWORD %L', :'password') \gexec
SQL
# Replication connections from the compose network only, with the password.
echo "host replication parcours_replicator samenet scram-sha-256" >> "$PGDATA/pg_hba.conf"
