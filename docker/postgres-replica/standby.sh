#!/bin/sh
# The read replica's entrypoint (docker-compose.production.yml; docs/operations.md, « Read
# replica »). On an empty volume: a base backup of the primary with -R (standby.signal and
# primary_conninfo) and its own replication slot, so the primary keeps the WAL the replica has
# not received yet (bounded by the primary's max_slot_wal_keep_size). Then the postgres image's
# own entrypoint, which finds a data directory and starts it as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  until pg_isready -h "$PRIMARY_HOST" -p 5432 -U parcours_replicator -q; do sleep 2; done
  PGPASSWORD="$PARCOURS_DB_REPLICATION_PASSWORD" gosu postgres pg_basebackup \
    -h "$PRIMARY_HOST" -p 5432 -U parcours_replicator -D "$PGDATA" \
    -R -X stream -C -S "$REPLICATION_SLOT" --checkpoint=fast --progress
fi
exec docker-entrypoint.sh "$@"
