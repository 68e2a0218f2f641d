from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ParcoursConfig(AppConfig):
    name = "parcours"
    verbose_name = _("Parcours partagés")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks, and the system checks on them (parcours/checks.py).
        from . import checks, journal_tasks, retention_tasks, tasks  # noqa: F401
        from .journal_trigger import install_journal_trigger

        # The access journal's append-only trigger (docs/journal.md); after every migrate.
        post_migrate.connect(
            install_journal_trigger, sender=self, dispatch_uid="parcours_journal_trigger"
        )
