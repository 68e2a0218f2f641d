"""Real processes for tests: Celery workers and beats, a private Redis server.

Waiting here is always for a condition (a worker answering a ping, a row appearing), bounded
by a deadline — never a sleep standing in for a business delay (those use an injected clock).
"""

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
        "CELERY_RESULT_BACKEND": broker_url,
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
