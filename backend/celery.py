"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")

app = Celery("parcours")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The access journal's sealing task lives in parcours/journal_tasks.py (docs/journal.md).
app.autodiscover_tasks(["parcours"], related_name="journal_tasks")
# The daily retention job lives in parcours/retention_tasks.py (docs/retention.md).
app.autodiscover_tasks(["parcours"], related_name="retention_tasks")
