"""Shared fixtures: real PostgreSQL (pytest-django), real Redis, a real Celery worker process."""

import pytest
from rest_framework.test import APIClient

from parcours.actor import Actor
from parcours.models import Role

from .factories import MembershipFactory, OrganisationFactory, UserFactory


@pytest.fixture
def make_actor(db):
    """Build an Actor: a user with a membership (role) in an organisation."""

    def build(organisation=None, role: str = Role.COUNSELLOR, **org_kwargs) -> Actor:
        organisation = organisation or OrganisationFactory(**org_kwargs)
        membership = MembershipFactory(organisation=organisation, role=role)
        return Actor(user=membership.user, organisation=organisation, role=role)

    return build


@pytest.fixture
def counsellor(make_actor) -> Actor:
    return make_actor()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    """An API client authenticated as `actor.user`, acting for `actor.organisation`."""

    def build(actor: Actor) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=actor.user)
        client.credentials(HTTP_X_PARCOURS_ORGANISATION=str(actor.organisation.pk))
        return client

    return build


@pytest.fixture
def user_without_membership(db):
    return UserFactory()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on real Redis, using this test session's database.

    One per pytest(-xdist) worker process and session; each xdist worker has its own Redis
    database (see backend/settings/test.py), so queues never mix.
    """
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings
    from django.db import connection

    from backend.celery import app

    name = f"parcours-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings.test",
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
    }
    app.control.purge()
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "backend", "worker", "--pool", "solo",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", f"{name}@%h"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while not app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Celery worker did not start:\n{log_path.read_text()[-3000:]}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
