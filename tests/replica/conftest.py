"""The read replica's tests run against a PostgreSQL primary and streaming replica of their own
(tests/replica/clusters.py), not the suite's shared server: the test process's `default`
connection is pointed at the private primary and a `replica` alias at the replica for the
duration of each test, then put back. Rows written here stay in the private primary (each test
makes its own organisation and people) and vanish with it at the end of the session.

The schema is made as the suite makes its own (`--no-migrations`: the models' tables, then the
post-migrate steps — the journal's trigger, the key canary), then replicated.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import override_settings

from parcours.db_routing import LAG_SQL, REPLICA
from parcours.models import Role
from parcours.models.grant import permission_ids

from .clusters import PrimaryAndReplica


@contextmanager
def served_by(pair: PrimaryAndReplica) -> Iterator[None]:
    """`default` on the private primary, `replica` on its replica, in this process. The ids
    this process remembers from a database (content types, the pathway permissions) are
    forgotten on the way in and out: the private primary numbers them its own way."""
    for connection in connections.all(initialized_only=True):
        connection.close()
    forget_database_ids()
    default = connections[DEFAULT_DB_ALIAS].settings_dict
    kept = {key: default[key] for key in ("NAME", "HOST", "PORT", "USER", "PASSWORD")}
    default.update(
        NAME=pair.database, HOST="127.0.0.1", PORT=str(pair.primary.port), USER="postgres"
    )
    default["PASSWORD"] = ""
    replica = copy.deepcopy(default)
    replica["PORT"] = str(pair.replica.port)
    connections.settings[REPLICA] = replica
    try:
        yield
    finally:
        for connection in connections.all(initialized_only=True):
            connection.close()
        if hasattr(connections._connections, REPLICA):
            del connections[REPLICA]
        del connections.settings[REPLICA]
        default.update(kept)
        forget_database_ids()


def forget_database_ids() -> None:
    ContentType.objects.clear_cache()
    permission_ids.cache_clear()


@pytest.fixture(scope="session")
def clusters(django_db_blocker) -> Iterator[PrimaryAndReplica]:
    pair = PrimaryAndReplica(f"parcours_replica_{uuid.uuid4().hex[:8]}").start()
    try:
        no_migrations = {config.label: None for config in apps.get_app_configs()}
        with (
            django_db_blocker.unblock(),
            served_by(pair),
            override_settings(MIGRATION_MODULES=no_migrations),
        ):
            call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
        pair.wait_replayed()
        yield pair
    finally:
        pair.stop()


@pytest.fixture
def replicated(clusters, django_db_blocker) -> Iterator[PrimaryAndReplica]:
    """This test's process reads and writes the private clusters; the replica is measured at
    every read (no cached state between steps) and serves up to an hour of lag, so that a
    paused replay still serves (the lag tests lower it)."""
    with (
        django_db_blocker.unblock(),
        served_by(clusters),
        override_settings(DATABASE_REPLICA_CHECK_SECONDS=0, DATABASE_REPLICA_MAX_LAG_SECONDS=3600),
    ):
        clusters.resume_replay()
        yield clusters
    clusters.resume_replay()


@dataclass
class QueryLog:
    """Statements per alias while `counting()` is open (the replica's lag measures apart)."""

    statements: Counter

    def reads(self, alias: str) -> int:
        return self.statements[(alias, "SELECT")]

    def writes(self, alias: str) -> int:
        return sum(
            n
            for (a, verb), n in self.statements.items()
            if a == alias and verb not in ("SELECT", "LAG")
        )


@contextmanager
def counting() -> Iterator[QueryLog]:
    log = QueryLog(Counter())

    def wrapper_for(alias):
        def record(execute, sql, params, many, context):
            verb = "LAG" if sql == LAG_SQL else sql.lstrip().split(None, 1)[0].upper()
            log.statements[(alias, verb)] += 1
            return execute(sql, params, many, context)

        return record

    with (
        connections[DEFAULT_DB_ALIAS].execute_wrapper(wrapper_for(DEFAULT_DB_ALIAS)),
        connections[REPLICA].execute_wrapper(wrapper_for(REPLICA)),
    ):
        yield log


@pytest.fixture
def world(replicated):
    """An organisation with a counsellor, two DPOs and a person it follows, replicated."""
    from parcours.actor import Actor
    from tests.factories import MembershipFactory, OrganisationFactory, PathwayFactory

    organisation = OrganisationFactory(name="France Travail Lens")

    def member(role: str) -> Actor:
        membership = MembershipFactory(organisation=organisation, role=role)
        return Actor(user=membership.user, organisation=organisation, role=role)

    pathway = PathwayFactory(owner_organisation=organisation)
    built = {
        "organisation": organisation,
        "counsellor": member(Role.COUNSELLOR),
        "dpo": member(Role.DPO),
        "other_dpo": member(Role.DPO),
        "pathway": pathway,
        "person": pathway.person,
    }
    replicated.wait_replayed()
    return built
