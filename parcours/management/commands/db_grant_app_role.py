"""Grant the application's database role exactly what it needs, nothing more.

    manage.py db_grant_app_role [--role parcours_app]

Run by the owner role — the one that runs `migrate` and owns the tables — after every migrate
(`make run` and the compose `migrate` service do). Idempotent, in one transaction. It creates
no role: roles belong to the whole PostgreSQL cluster; `bin/run` creates the local one, the
compose init script the compose ones, an administrator the production one (docs/operations.md).

What the role gets (docs/operations.md, "Database roles"):
- every table of the schema: SELECT, INSERT, UPDATE, DELETE (never TRUNCATE, REFERENCES or
  TRIGGER), sequences: USAGE, SELECT; the same by default for the tables later migrations create;
- the access journal: SELECT, INSERT, and UPDATE of its three sealing columns only;
- the journal's checkpoints: SELECT, INSERT;
- the purge function `parcours_journal_purge()`: EXECUTE (it runs as the owner, under its rules);
- the journal's monthly partitions: nothing (the parent table is the way in); the function that
  creates the months to come, `parcours_journal_partitions_ensure()`: EXECUTE (beat calls it);
- the purge window table: nothing.
It refuses a role that could act as the owner (a superuser, the owner itself, a member of it).
"""

import re
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from parcours.journal_partitions import ENSURE_FUNCTION, ENSURE_FUNCTION_ARGS
from parcours.journal_trigger import PURGE_FUNCTION, PURGE_FUNCTION_ARGS, PURGE_WINDOW_TABLE
from parcours.models import AccessEvent, JournalCheckpoint
from parcours.services.journal import SEALING_FIELDS

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


class Command(BaseCommand):
    help = (
        "Donne au rôle PostgreSQL de l'application exactement ses droits : lecture et écriture "
        "des tables, journal des accès en ajout seul (à lancer avec le rôle propriétaire, après "
        "migrate)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--role",
            default=None,
            help="Rôle de l'application (défaut : PARCOURS_DB_APP_ROLE, parcours_app).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"] or settings.PARCOURS_DB_APP_ROLE
        if connection.vendor != "postgresql":
            self.stdout.write(
                f"Base {connection.vendor} : pas de rôles à régler (PostgreSQL seulement)."
            )
            return
        if not ROLE_NAME.match(role):
            raise CommandError(
                f"Nom de rôle refusé : {role!r} (minuscules, chiffres et _ seulement)."
            )
        with transaction.atomic(), connection.cursor() as cursor:
            self._check(cursor, role)
            count = self._grant(cursor, role)
            self._check_journal(cursor, role)
        self.stdout.write(
            f"Rôle {role} : lecture et écriture sur {count} tables ; journal des accès en ajout "
            "seul (SELECT, INSERT, UPDATE des colonnes de scellement, ni DELETE ni TRUNCATE) ; "
            f"points de contrôle en ajout seul ; purge par {PURGE_FUNCTION}() seulement."
        )

    def _check(self, cursor: Any, role: str) -> None:
        journal = AccessEvent._meta.db_table
        cursor.execute(
            "SELECT r.rolsuper, r.rolname = current_user, "
            "pg_has_role(r.oid, c.relowner, 'MEMBER'), pg_has_role(current_user, c.relowner, "
            "'USAGE') FROM pg_roles AS r, pg_class AS c "
            "WHERE r.rolname = %s AND c.oid = to_regclass(%s)",
            [role, connection.ops.quote_name(journal)],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(
                    f"Le rôle {role} n'existe pas. Créez-le en administrateur de PostgreSQL "
                    f"(CREATE ROLE {role} LOGIN PASSWORD '…' ; docs/operations.md), puis "
                    "relancez cette commande."
                )
            raise CommandError(f"La table {journal} n'existe pas : lancez d'abord migrate.")
        superuser, is_current, member_of_owner, current_owns = row
        if not current_owns:
            raise CommandError(
                "Lancez cette commande avec le rôle propriétaire des tables (celui de migrate)."
            )
        if superuser or is_current or member_of_owner:
            raise CommandError(
                f"Le rôle {role} peut agir en propriétaire des tables (superutilisateur, "
                "propriétaire ou membre du propriétaire) : le journal ne serait pas protégé. "
                "L'application doit se connecter avec un rôle distinct (docs/operations.md)."
            )

    def _grant(self, cursor: Any, role: str) -> int:
        quote = connection.ops.quote_name
        grantee = quote(role)
        cursor.execute("SELECT current_schema(), current_database()")
        schema_name, database = cursor.fetchone()
        schema = quote(schema_name)
        journal = f"{schema}.{quote(AccessEvent._meta.db_table)}"
        checkpoints = f"{schema}.{quote(JournalCheckpoint._meta.db_table)}"
        sealing = ", ".join(quote(name) for name in SEALING_FIELDS)
        statements = [
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {grantee}",
            f"GRANT USAGE ON SCHEMA {schema} TO {grantee}",
            # The role creates nothing: no object of its own to shadow ours with.
            f"REVOKE CREATE ON SCHEMA {schema} FROM {grantee}",
            f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
            # Exactly: whatever was granted before (TRUNCATE, TRIGGER…) goes first.
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {grantee}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {grantee}",
            f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} TO {grantee}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}",
            # Tables and sequences created later by this (owner) role: the same.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT {TABLE_PRIVILEGES} ON TABLES TO {grantee}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {grantee}",
            # The journal: append, read, seal. REVOKE ALL also drops column privileges.
            f"REVOKE ALL ON {journal} FROM {grantee}",
            f"GRANT SELECT, INSERT ON {journal} TO {grantee}",
            f"GRANT UPDATE ({sealing}) ON {journal} TO {grantee}",
            # Checkpoints: appended by the scheduled task, never changed.
            f"REVOKE ALL ON {checkpoints} FROM {grantee}",
            f"GRANT SELECT, INSERT ON {checkpoints} TO {grantee}",
            f"REVOKE ALL ON {schema}.{PURGE_WINDOW_TABLE} FROM {grantee}",
            f"GRANT EXECUTE ON FUNCTION {schema}.{PURGE_FUNCTION}({PURGE_FUNCTION_ARGS}) "
            f"TO {grantee}",
        ]
        # The journal's monthly partitions: nothing. The application reads and writes the
        # journal through its parent table; ALL TABLES above included them.
        cursor.execute(
            "SELECT i.inhrelid::regclass::text FROM pg_inherits AS i "
            "WHERE i.inhparent = to_regclass(%s)",
            [journal],
        )
        statements += [
            f"REVOKE ALL ON {partition} FROM {grantee}" for (partition,) in cursor.fetchall()
        ]
        statements.append(
            f"GRANT EXECUTE ON FUNCTION {schema}.{ENSURE_FUNCTION}({ENSURE_FUNCTION_ARGS}) "
            f"TO {grantee}"
        )
        for statement in statements:
            cursor.execute(statement)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema_name])
        return int(cursor.fetchone()[0])

    def _check_journal(self, cursor: Any, role: str) -> None:
        """Read back what PostgreSQL now says the role may do to the journal."""
        journal = connection.ops.quote_name(AccessEvent._meta.db_table)
        cursor.execute(
            "SELECT has_table_privilege(%s, %s, 'DELETE'), "
            "has_table_privilege(%s, %s, 'TRUNCATE'), "
            "has_column_privilege(%s, %s, 'purpose', 'UPDATE'), "
            "has_column_privilege(%s, %s, 'row_hash', 'UPDATE'), "
            "has_schema_privilege(%s, current_schema(), 'CREATE')",
            [role, journal] * 4 + [role],
        )
        delete, truncate, update_content, update_seal, create = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_inherits AS i WHERE i.inhparent = to_regclass(%s) AND ("
            "has_table_privilege(%s, i.inhrelid, 'DELETE') "
            "OR has_table_privilege(%s, i.inhrelid, 'TRUNCATE') "
            "OR has_table_privilege(%s, i.inhrelid, 'UPDATE'))",
            [journal, role, role, role],
        )
        partitions_open = cursor.fetchone()[0]
        if delete or truncate or update_content or not update_seal or create or partitions_open:
            raise CommandError(
                f"Le rôle {role} garde des droits interdits sur le journal (hérités d'un autre "
                "rôle ?) : vérifiez ses appartenances (\\du dans psql)."
            )
