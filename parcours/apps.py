from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ParcoursConfig(AppConfig):
    name = "parcours"
    verbose_name = _("Parcours partagés")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.signals import task_postrun, task_prerun

        # Register the Celery tasks, and the system checks on them (parcours/checks.py).
        from . import checks, journal_tasks, retention_tasks, tasks  # noqa: F401
        from .folding import register_sqlite_function
        from .gate.context import enter_task, leave_task
        from .journal_trigger import install_journal_trigger
        from .sqlite_fallback import register as register_sqlite_lookups

        # Every Celery task runs behind the gate's task door.
        task_prerun.connect(enter_task, dispatch_uid="parcours_gate_enter_task", weak=False)
        task_postrun.connect(leave_task, dispatch_uid="parcours_gate_leave_task", weak=False)

        # JSON containment on the SQLite fallback of `make run` (PostgreSQL's SQL unchanged).
        register_sqlite_lookups()
        # The directory's accent-insensitive search on SQLite too (parcours/folding.py).
        connection_created.connect(
            register_sqlite_function, dispatch_uid="parcours_sqlite_fold", weak=False
        )
        # PostgreSQL's timestamps read by psycopg's C loader (parcours/db_datetimes.py).
        from .db_datetimes import use_c_timestamptz_loader

        connection_created.connect(
            use_c_timestamptz_loader, dispatch_uid="parcours_c_timestamptz", weak=False
        )

        # Signing in (services/account_security.py): failed passwords are journaled after axes
        # (an app listed before parcours) counted them; an authenticator app an administrator
        # deletes is journaled on its owner's account.
        from django.contrib.auth.signals import user_login_failed
        from django.db.models.signals import post_delete
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from .services.account_security import device_removed_elsewhere, login_failed

        user_login_failed.connect(login_failed, dispatch_uid="parcours_login_failed")
        post_delete.connect(
            device_removed_elsewhere, sender=TOTPDevice, dispatch_uid="parcours_totp_removed"
        )

        # Partner systems' webhooks: every referral move and every change of a pathway's
        # référent, modality or state writes its deliveries in its own transaction
        # (services/webhooks.py), like the e-mails of notifications.
        from .signals import pathway_changed, referral_moved
        from .webhook_receivers import record_pathway_webhook_events, record_webhook_events

        referral_moved.connect(record_webhook_events, dispatch_uid="parcours_webhook_events")
        pathway_changed.connect(
            record_pathway_webhook_events, dispatch_uid="parcours_pathway_webhook_events"
        )
        # A referral sent to an organisation without an account: its link (issue 19).
        from .link_receivers import issue_link_on_send

        referral_moved.connect(issue_link_on_send, dispatch_uid="parcours_receiver_link_on_send")

        # The access journal's append-only trigger (docs/journal.md); after every migrate.
        post_migrate.connect(
            install_journal_trigger, sender=self, dispatch_uid="parcours_journal_trigger"
        )
        # The key canary (parcours/key_canary.py), written once its table exists.
        from .key_canary import install_canary

        post_migrate.connect(install_canary, sender=self, dispatch_uid="parcours_key_canary")
