"""Real processes for tests: Celery workers and beats, a private Redis server, a private
RabbitMQ node.

Waiting here is always for a condition (a worker answering a ping, a row appearing), bounded
by a deadline — never a sleep standing in for a business delay (those use an injected clock).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection
from kombu import Connection

from backend.broker import is_rabbitmq


def wait_until(condition: Callable[[], object], *, timeout: float = 60, what: str = "") -> object:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def process_env(*, broker_url: str, email_url: str | None = None, **extra: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "PARCOURS_TEST_BROKER_URL": broker_url,  # read by backend/settings/test.py
        # Results in the broker's Redis (the tests' `.get()`); none with RabbitMQ, as in
        # production (backend/settings/base.py).
        "CELERY_RESULT_BACKEND": "" if is_rabbitmq(broker_url) else broker_url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    if email_url:
        env["EMAIL_URL"] = email_url
    return env


ALL_QUEUES = "celery,mail,prompt"  # backend/settings/base.py, CELERY_TASK_ROUTES


def start_worker(
    *,
    name: str,
    broker_url: str,
    log_path: Path,
    email_url: str | None = None,
    queues: str = ALL_QUEUES,
    **extra: str,
) -> subprocess.Popen:
    """A Celery worker (solo pool: the task runs in the process a test may SIGKILL) consuming
    `queues` (all three by default), answering pings before this returns."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "backend", "worker", "--pool", "solo",
             "-Q", queues, "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "-n", f"{name}@%h"],
            env=process_env(broker_url=broker_url, email_url=email_url, **extra),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    # Ready when it says so in its log ("… ready."), after connecting to its broker.
    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited:\n{log_path.read_text()[-3000:]}")
        return " ready." in log_path.read_text(errors="replace")

    try:
        wait_until(ready, timeout=60, what=f"worker {name}")
    except AssertionError:
        process.kill()
        log = log_path.read_text()[-3000:]
        raise RuntimeError(f"Celery worker did not start:\n{log}") from None
    return process


def start_beat(*, broker_url: str, log_path: Path, schedule: Path, **extra: str):
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "backend", "beat", "--loglevel", "INFO",
             "--schedule", str(schedule)],
            env=process_env(broker_url=broker_url, **extra),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(process: subprocess.Popen, *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class PrivateRedis:
    """A Redis server of the test's own, on a free port, that the test may stop and restart
    without disturbing the shared one other tests use."""

    def __init__(self) -> None:
        self.port = free_port()
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError("redis-server est requis pour les tests de pannes")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_until(answers, timeout=15, what="the private Redis")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, kill=True)  # like a crash: nothing is kept (no persistence)
            self.process = None


# The Debian wrapper in /usr/sbin switches to the `rabbitmq` user and the system node's
# directories; the node of a test runs the server script itself, as the test's user.
RABBITMQ_SCRIPTS = Path("/usr/lib/rabbitmq/bin")


class PrivateRabbit:
    """A RabbitMQ node of the test's own (its ports, its directories under `root`, no plugin:
    nothing it opens clashes with the system's node), which the test may kill and restart; its
    data survives a restart, as a real node's does. Each test takes a virtual host of its own
    (`vhost`), so that the tests sharing a node never see each other's queues. Its name is
    registered with the machine's epmd (port 4369, shared with the system's node; Erlang starts
    one if none runs), its distribution on a free port of its own."""

    def __init__(self, root: Path) -> None:
        server = RABBITMQ_SCRIPTS / "rabbitmq-server"
        if not server.exists():
            raise RuntimeError("rabbitmq-server est requis pour les tests sur RabbitMQ")
        self.root = root
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"parcours-test-{os.getpid()}-{self.port}@localhost"
        self.process: subprocess.Popen | None = None
        (root / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\nlog.console = false\n"
        )
        (root / "enabled_plugins").write_text("[].\n")  # no management listener
        (root / "rabbitmq-env.conf").write_text("")  # not the system node's NODENAME

    def env(self) -> dict:
        return {
            **os.environ,
            "HOME": str(self.root),  # its Erlang cookie, shared with rabbitmqctl below
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.root / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
        }

    def url(self, vhost: str = "/") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost.replace('/', '%2F')}"

    def start(self) -> "PrivateRabbit":
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [RABBITMQ_SCRIPTS / "rabbitmq-server"],
                env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: the script, the VM and its helpers
            )  # fmt: skip

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"RabbitMQ exited:\n{self.log()}")
            try:
                with Connection(self.url(), connect_timeout=1) as probe:
                    probe.connect()
                return True
            except OSError:
                return False

        wait_until(answers, timeout=90, what="the private RabbitMQ node")
        return self

    def stop(self) -> None:
        """Killed, like a crash (the quorum queues' log is on disk: what was confirmed stays)."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
            self.process = None

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")[-3000:]

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [RABBITMQ_SCRIPTS / "rabbitmqctl", "-q", "-n", self.node, *args],
            env=self.env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr}{result.stdout}")
        return result.stdout

    def vhost(self, name: str) -> "RabbitVhost":
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return RabbitVhost(self, name)


class RabbitVhost:
    """A test's virtual host on a private node: the broker a test's workers are given (`url`);
    `stop`/`start` kill and restart the whole node."""

    def __init__(self, node: PrivateRabbit, name: str) -> None:
        self.node = node
        self.name = name

    @property
    def url(self) -> str:
        return self.node.url(self.name)

    def stop(self) -> None:
        self.node.stop()

    def start(self) -> "RabbitVhost":
        self.node.start()
        return self

    def queues(self) -> dict[str, dict]:
        """The virtual host's queues by name: type, arguments, messages (ready and not)."""
        listing = self.node.ctl(
            "list_queues", "-p", self.name, "--formatter", "json",
            "name", "type", "arguments", "messages_ready", "messages_unacknowledged",
        )  # fmt: skip
        queues = {queue["name"]: queue for queue in json.loads(listing)}
        for queue in queues.values():  # [[name, type, value], …] as rabbitmqctl lists them
            queue["arguments"] = {name: value for name, _type, value in queue["arguments"]}
        return queues

    def ready(self, queue: str) -> int:
        """Messages waiting in `queue`, as the queue itself counts them (a passive declare;
        rabbitmqctl's counts of a quorum queue lag by its statistics interval)."""
        with Connection(self.url, connect_timeout=5) as connection:
            return connection.default_channel.queue_declare(queue, passive=True).message_count
