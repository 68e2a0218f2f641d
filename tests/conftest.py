"""Shared fixtures: real PostgreSQL (pytest-django), real Redis, a real Celery worker process."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from parcours.actor import Actor
from parcours.models import AccessEvent, Role

from .factories import (
    ConsentFactory,
    MembershipFactory,
    OrganisationFactory,
    PathwayFactory,
    PersonFactory,
    ReferralFactory,
    UserFactory,
)


@pytest.fixture(scope="session", autouse=True)
def _media_root(tmp_path_factory):
    """The files the tests store (consent evidence) go to a temporary directory of the
    session, never the checkout's var/media."""
    from django.test import override_settings

    override = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True, scope="session")
def _force_login_passes_the_second_factor():
    """`Client.force_login(user)` signs the session in completely: past the password, as Django
    does, and past the second factor for an account that has or must have one
    (tests/second_factor.py). `second_factor=False` stops after the password."""
    from django.test import Client

    from .second_factor import verify_session

    original = Client.force_login

    def force_login(self, user, backend=None, *, second_factor: bool = True):
        original(self, user, backend)
        if second_factor:
            verify_session(self, user)

    Client.force_login = force_login
    yield
    Client.force_login = original


@pytest.fixture(autouse=True, scope="session")
def _live_server_answers_without_delay():
    """The live server (pytest-django's `live_server`) sends a response's status line, its
    headers and its body in separate writes; with Nagle's algorithm on, each write after the
    first waits for the client's ACK, which the client delays up to 40 ms: the schemathesis
    run (~2,500 requests per role) took 117 s instead of 75 s, idle half the time. Production's
    server (gunicorn) writes an answer at once; this is the test server's own fix."""
    from django.test.testcases import QuietWSGIRequestHandler

    original = QuietWSGIRequestHandler.disable_nagle_algorithm
    QuietWSGIRequestHandler.disable_nagle_algorithm = True  # TCP_NODELAY on each connection
    yield
    QuietWSGIRequestHandler.disable_nagle_algorithm = original


def pytest_collection_modifyitems(items):
    """Modules longest first (tests/module_weights.py: the workers take whole modules in this
    order, `bin/test` runs xdist with `--no-loadscope-reorder`), and in a module whose world is
    built once (`world_template`, tests/worlds.py), the tests that do not use the world before
    those that do: the world's rows exist from its first test to the module's end, and a test
    that never asked for them must not find them. Otherwise the order is kept (a stable sort)."""
    from .module_weights import weights

    tests_in: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        tests_in[module] = tests_in.get(module, 0) + 1
    expected = weights(tests_in)
    place = {module: index for index, module in enumerate(tests_in)}  # ties: as collected

    def module_first(item):
        module = item.nodeid.split("::")[0]
        return (-expected[module], place[module])

    items.sort(
        key=lambda item: (
            module_first(item),
            "world_template" in getattr(item, "fixturenames", ()),
        )
    )


@pytest.fixture(autouse=True, scope="session")
def _flush_by_delete():
    """Transactional tests end with a DELETE of every table instead of a TRUNCATE: the same
    empty database, seconds sooner (tests/flush.py)."""
    from .flush import flush_by_delete

    with flush_by_delete():
        yield


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
def smtp_sink():
    """A real SMTP server for the whole session (the shared worker sends to it)."""
    from .notifications.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_sink(smtp_sink):
    """The session's SMTP server, emptied and unscripted for this test."""
    smtp_sink.reset()
    yield smtp_sink
    smtp_sink.reset()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, smtp_sink):
    """A real Celery worker process on real Redis, using this test session's database and
    sending e-mail to the session's SMTP server.

    One per pytest(-xdist) worker process and session; each xdist worker has its own Redis
    database (see backend/settings/test.py), so queues never mix.
    """
    import os

    from django.conf import settings

    from backend.celery import app

    from .processes import start_worker, stop

    name = f"parcours-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
    app.control.purge()
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    process = start_worker(
        name=name,
        broker_url=settings.CELERY_BROKER_URL,
        log_path=log_path,
        email_url=smtp_sink.url,
    )
    process.celery_name = f"{name}@{os.uname().nodename}"  # type: ignore[attr-defined]
    yield process
    stop(process)


def _settle_shared_worker(process) -> None:
    """Empty the shared broker's queues and wait until the shared worker is idle."""
    import time

    from backend.celery import app

    with app.connection_for_write() as connection:
        for queue in ("celery", "mail", "prompt"):
            connection.default_channel.queue_purge(queue)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        active = app.control.inspect(destination=[process.celery_name], timeout=1).active()
        if active is not None and not any(active.values()):
            return
        time.sleep(0.2)
    raise AssertionError("the Celery worker was still busy 120 s after the test")


@pytest.fixture(autouse=True)
def _worker_left_idle(request):
    """Around a test that uses the shared worker, nothing queued elsewhere may run into it:
    before, what a transactional test without a worker queued (a move's relay wake-up, issue
    14, lands in the shared broker after its commit) is dropped; after, what the test queued.
    Each time the worker is waited for until it is idle."""
    uses_worker = "celery_worker_process" in request.fixturenames
    if uses_worker:
        _settle_shared_worker(request.getfixturevalue("celery_worker_process"))
    yield
    if uses_worker:
        _settle_shared_worker(request.getfixturevalue("celery_worker_process"))


@pytest.fixture
def private_broker():
    """A Redis server of the test's own, used as this test process's Celery broker until the
    test ends: stop it (`private_broker.stop()`) to see a request queue a task while the broker
    is unreachable, start it again (same port) to bring it back. Workers and beats the test
    starts on `private_broker.url` consume what was queued."""
    import os

    from backend.celery import app

    from .processes import PrivateRedis

    def repoint() -> None:
        # Celery keeps one connection pool per app, opened on the first publish: dropped here,
        # the next publish opens one on the URL in force (kombu keeps one pool per URL).
        app._pool = None
        app.amqp._producer_pool = None

    server = PrivateRedis().start()
    shared = os.environ["CELERY_BROKER_URL"]
    # Celery reads CELERY_BROKER_URL from the environment before its settings (and the test
    # settings put the shared test broker there).
    os.environ["CELERY_BROKER_URL"] = server.url
    repoint()
    try:
        yield server
    finally:
        os.environ["CELERY_BROKER_URL"] = shared
        repoint()
        server.stop()


@pytest.fixture(scope="session")
def rabbitmq_node(tmp_path_factory):
    """A RabbitMQ node of this test process's own (tests/processes.py, `PrivateRabbit`), started
    the first time a test asks for it (several seconds) and killed at the end of the session."""
    from .processes import PrivateRabbit

    node = PrivateRabbit(tmp_path_factory.mktemp("rabbitmq")).start()
    yield node
    node.stop()


_rabbitmq_vhosts = itertools.count(1)


@pytest.fixture
def rabbitmq(rabbitmq_node):
    """A virtual host of this test's own on the session's RabbitMQ node (`.url` for workers and
    publishers, `.queues()`; `.stop()`/`.start()` kill and restart the whole node). Left on the
    node, which goes with its directory at the end of the session; the node is running again
    after the test, whatever the test did to it."""
    vhost = rabbitmq_node.vhost(f"test-{next(_rabbitmq_vhosts)}")
    yield vhost
    if rabbitmq_node.process is None:
        rabbitmq_node.start()


# --- A history across three organisations (the DPO's reports) ---------------------------------


@pytest.fixture
def history(make_actor, client_for):
    """Through the real API: the owner reads and rectifies, the SIAE (referral receiver) lists
    and reads, an unrelated Mission locale is refused, the SIAE opens a break-glass; and the
    DPOs: of the owner, of the SIAE, of an unrelated organisation, a national DPO."""
    owner = make_actor(name="France Travail Lens")
    siae = make_actor(siae=True, name="Les Jardins du Bassin")
    stranger = make_actor(mission_locale=True, name="Mission locale d'Arras")
    person = PersonFactory(first_name="Léa", last_name="Martin")
    pathway = PathwayFactory(person=person, owner_organisation=owner.organisation)
    referral = ReferralFactory(
        pathway=pathway, sender_user=owner.user, receiver_organisation=siae.organisation, sent=True
    )
    ConsentFactory(person=person, organisations=[siae.organisation], categories=["social"])
    start = timezone.now() - dt.timedelta(seconds=1)
    assert client_for(owner).get(f"/api/v1/persons/{person.pk}/").status_code == 200
    assert (
        client_for(owner).patch(f"/api/v1/persons/{person.pk}/", {"city": "Lens"}).status_code
        == 200
    )
    assert client_for(siae).get("/api/v1/referrals/").status_code == 200
    assert client_for(siae).get(f"/api/v1/persons/{person.pk}/").status_code == 200
    assert client_for(stranger).get(f"/api/v1/persons/{person.pk}/").status_code == 404
    response = client_for(siae).post(
        f"/api/v1/pathways/{pathway.pk}/break-glass/",
        {"category": "health", "reason": "Adapter le poste dès le premier jour"},
    )
    assert response.status_code == 201
    return {
        "owner": owner,
        "siae": siae,
        "stranger": stranger,
        "person": person,
        "pathway": pathway,
        "referral": referral,
        "start": start,
        "owner_dpo": make_actor(organisation=owner.organisation, role=Role.DPO),
        "siae_dpo": make_actor(organisation=siae.organisation, role=Role.DPO),
        "unrelated_dpo": make_actor(name="CCAS de Béthune", role=Role.DPO),
        "national_dpo": make_actor(name="Opérateur de la plateforme", role=Role.NATIONAL_DPO),
        "last_event": AccessEvent.objects.order_by("-id").values_list("id", flat=True).first(),
    }


@pytest.fixture
def period():
    today = timezone.localdate()
    return {"from": (today - dt.timedelta(days=1)).isoformat(), "to": today.isoformat()}
