from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParcoursConfig(AppConfig):
    name = "parcours"
    verbose_name = _("Parcours partagés")
    default_auto_field = "django.db.models.BigAutoField"
