from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The pages for counsellors and social workers (DSFR + htmx). Thin: every rule they apply
    comes from parcours (services, access) and notifications (alerts), never a second copy."""

    name = "web"
    verbose_name = _("Pages")
    default_auto_field = "django.db.models.BigAutoField"
