from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The receivers connect to the domain's signals; the tasks register with Celery, so that
        # a web process queueing one by name (parcours.queueing) finds it in the registry.
        from . import receivers, tasks  # noqa: F401
