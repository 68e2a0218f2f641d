"""E-mail alerts and the outbox relay arrive with the no-show issue; this module is where Celery
autodiscovery finds notification tasks."""
