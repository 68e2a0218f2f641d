"""Every project task lands on a queue a worker consumes, and the deployment keeps the prompt
work (scan, reminders, digests, sealer, relay) apart from the bulk work (issue 16, finding 3):
`make run` and docker-compose start the same two workers (docs/operations.md)."""

import re
from pathlib import Path

from backend.celery import app
from parcours.checks import project_tasks

ROOT = Path(__file__).resolve().parents[2]
PROMPT = {
    "notifications.alerts_scan",
    "notifications.reminders_send",
    "notifications.digests_send",
    "parcours.journal_seal_pending",
}


def _queue_of(name: str) -> str:
    route = app.amqp.router.route({}, name)
    return route["queue"].name


def _worker_queues(text: str) -> list[set[str]]:
    """The -Q lists of the Celery workers a script or compose file starts."""
    found = re.findall(r'worker"?,?\s+"?-Q"?,?\s+"?([a-z,]+)"?', text)
    return [set(q.split(",")) for q in found]


def test_each_task_has_its_queue():
    queues = {name: _queue_of(name) for name in project_tasks()}
    assert {n for n, q in queues.items() if q == "prompt"} == PROMPT
    # The two relays that talk to servers outside (SMTP, the partners' webhook endpoints): a slow
    # or dead one fills this queue and no other.
    relays = {"notifications.outbox_relay", "parcours.webhooks_deliver"}
    assert {n for n, q in queues.items() if q == "mail"} == relays
    bulk = set(queues) - PROMPT - relays
    assert {queues[n] for n in bulk} == {"celery"}
    assert "parcours.tasks.access_recompute_pathways" in bulk


def test_make_run_and_compose_start_the_two_workers():
    used = {"celery", "mail", "prompt"}
    for path in (ROOT / "bin" / "run", ROOT / "docker-compose.yml"):
        workers = _worker_queues(path.read_text())
        assert sorted(map(sorted, workers)) == [["celery"], ["mail", "prompt"]], path
        assert set().union(*workers) == used
