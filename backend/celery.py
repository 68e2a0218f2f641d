"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

import logging
import os

from celery import Celery, signals

from backend.broker import is_rabbitmq

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

logger = logging.getLogger(__name__)

app = Celery("parcours")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The access journal's sealing task lives in parcours/journal_tasks.py (docs/journal.md).
app.autodiscover_tasks(["parcours"], related_name="journal_tasks")
# The daily retention job lives in parcours/retention_tasks.py (docs/retention.md).
app.autodiscover_tasks(["parcours"], related_name="retention_tasks")


@signals.worker_init.connect
def declare_every_queue(**kwargs: object) -> None:
    """RabbitMQ: every worker declares the three queues, not only those it consumes, before it
    starts. Celery's native delayed delivery binds each configured queue to its exchanges at
    start-up and skips, with an error, a queue that does not exist yet: the first worker of a
    fresh virtual host (`-Q celery`) would leave `mail` and `prompt` without the binding, and a
    countdown sent to them would be dropped. A broker that cannot be reached here is only
    logged: the worker then retries its connection as always."""
    if not is_rabbitmq(app.conf.broker_url or ""):
        return
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=3)
            channel = connection.default_channel
            for queue in app.amqp.queues.values():
                queue(channel).declare()
    except Exception:
        logger.exception("declaring the task queues on RabbitMQ failed")
