"""A PostgreSQL primary and its streaming replica of the tests' own: the machine's binaries,
temporary directories, free loopback ports, trust authentication, torn down at the end.

The servers run as the `postgres` account when the tests run as root (PostgreSQL refuses to run
as root). Waiting is for a condition (the server answering, the replica having replayed up to
a position), bounded by a deadline.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import suppress
from pathlib import Path

import psycopg

from tests.processes import free_port, wait_until

BIN = Path(os.environ.get("PARCOURS_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _account() -> str | None:
    """Who runs the servers: the postgres account under root, the current user otherwise."""
    return "postgres" if os.geteuid() == 0 else None


class Cluster:
    """One PostgreSQL server: a data directory and a port."""

    def __init__(self, root: Path, name: str) -> None:
        self.data = root / name
        self.port = free_port()
        self.log = root / f"{name}.log"

    def run(self, *argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True, user=_account(), timeout=120)

    def start(self) -> Cluster:
        self.run(
            str(BIN / "pg_ctl"), "start", "--wait", "--timeout", "60", "-D", str(self.data),
            "-l", str(self.log),
            "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
        )  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self.run(str(BIN / "pg_ctl"), "stop", "--wait", "-m", mode, "-D", str(self.data))

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=5)

    def scalar(self, sql: str, database: str = "postgres"):
        """The first column of the first row of `sql`'s answer (None for a command)."""
        with self.connect(database) as connection:
            cursor = connection.execute(sql)
            row = cursor.fetchone() if cursor.description else None
            return row[0] if row else None


class PrimaryAndReplica:
    """`start()` makes the primary (initdb), creates `database`, then the replica from a base
    backup streaming from it (`pg_basebackup -R`: standby.signal and primary_conninfo)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.root = Path(tempfile.mkdtemp(prefix="parcours-replica-"))
        account = _account()
        if account:
            entry = pwd.getpwnam(account)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.primary = Cluster(self.root, "primary")
        self.replica = Cluster(self.root, "replica")

    def start(self) -> PrimaryAndReplica:
        primary = self.primary
        primary.run(
            str(BIN / "initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        with open(primary.data / "postgresql.conf", "a") as conf:
            # Small and fast: a test server, never a durable one.
            conf.write(
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "shared_buffers = 32MB\nmax_connections = 40\nwal_level = replica\n"
                "max_wal_senders = 4\nhot_standby = on\nhot_standby_feedback = on\n"
            )
        with open(primary.data / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        primary.start()
        with primary.connect() as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self.replica.run(
            str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U",
            "postgres", "-D", str(self.replica.data), "-R", "--checkpoint=fast", "--no-sync",
            "-X", "stream",
        )  # fmt: skip
        self.replica.start()
        wait_until(self.replica_streams, timeout=30, what="the replica streaming")
        return self

    def replica_streams(self) -> bool:
        return bool(self.primary.scalar("SELECT count(*) FROM pg_stat_replication"))

    # --- Replay --------------------------------------------------------------------------------

    def wait_replayed(self, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary wrote so far."""
        target = self.primary.scalar("SELECT pg_current_wal_insert_lsn()::text")

        def caught_up() -> bool:
            return bool(
                self.replica.scalar(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            )

        wait_until(caught_up, timeout=timeout, what="the replica's replay")

    def wait_received(self, timeout: float = 30) -> None:
        """Until the replica has received (not necessarily replayed) what the primary wrote."""
        target = self.primary.scalar("SELECT pg_current_wal_insert_lsn()::text")

        def received() -> bool:
            return bool(
                self.replica.scalar(f"SELECT pg_last_wal_receive_lsn() >= '{target}'::pg_lsn")
            )

        wait_until(received, timeout=timeout, what="the replica's WAL receiver")

    def pause_replay(self) -> None:
        self.replica.scalar("SELECT pg_wal_replay_pause()")
        wait_until(
            lambda: self.replica.scalar("SELECT pg_get_wal_replay_pause_state()") == "paused",
            timeout=10,
            what="replay paused",
        )

    def resume_replay(self) -> None:
        self.replica.scalar("SELECT pg_wal_replay_resume()")
        self.wait_replayed()

    def restart_replica(self) -> None:
        """The replica started again (same port) after a test stopped it, streaming and caught
        up."""
        self.replica.start()
        wait_until(self.replica_streams, timeout=30, what="the replica streaming again")
        self.wait_replayed()

    def stop(self) -> None:
        for cluster in (self.replica, self.primary):
            with suppress(subprocess.CalledProcessError):  # already gone
                cluster.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
