from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

departement_code_validator = RegexValidator(
    r"^(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])$", _("Code de département invalide (ex. 62, 2A, 974).")
)


class EmploymentArea(models.Model):
    """Bassin d'emploi: the territory in which partners work together."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    departement = models.CharField(
        _("département"), max_length=3, validators=[departement_code_validator], db_index=True
    )

    class Meta:
        verbose_name = _("bassin d'emploi")
        verbose_name_plural = _("bassins d'emploi")
        ordering = ["departement", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.departement})"
