import datetime as dt
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from stdnum.fr import nir

from ..fields import (
    EncryptedBooleanField,
    EncryptedCharField,
    EncryptedEmailField,
    blind_index,
    normalise_identifier,
)

# One rule, two guards: the field validator (API serializers and services), the CHECK (database).
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)


def validate_nir(value: str) -> None:
    if not nir.is_valid(value):
        raise ValidationError(_("NIR invalide : 15 caractères dont une clé de contrôle correcte."))


france_travail_id_validator = RegexValidator(
    r"^[0-9]{7}[0-9A-Z]{1,4}$",
    _("Identifiant France Travail invalide : 7 chiffres suivis de 1 à 4 chiffres ou lettres."),
)


def normalise_name(value: str) -> str:
    """Accent- and case-insensitive form used for duplicate detection ("Éloïse" == "eloise")."""
    decomposed = unicodedata.normalize("NFKD", value)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.replace("-", " ").replace("'", " ").lower().split())


def identity_key(first_name: str, last_name: str) -> str:
    return f"{normalise_name(last_name)}|{normalise_name(first_name)}"


SEARCH_KEY_FIELDS = ("name_key", "nir_index", "france_travail_id_index", "identity_index")


def search_keys(
    first_name: str, last_name: str, birth_date: dt.date | str, nir: str, france_travail_id: str
) -> tuple[str, str, str, str]:
    """(name_key, nir_index, france_travail_id_index, identity_index) of a person. Also used by
    the bulk loaders (seed_scale), which bypass save(). Same names and birth date = same
    identity_index: the duplicate rule of services.person."""
    name_key = identity_key(first_name, last_name)
    birth = birth_date if isinstance(birth_date, str) else birth_date.isoformat()
    return (
        name_key,
        blind_index("nir", normalise_identifier(nir or "")),
        blind_index("france_travail_id", normalise_identifier(france_travail_id or "")),
        blind_index("identity", f"{name_key}|{birth}"),
    )


def person_reference(person_id: int) -> str:
    """Short reference of a person's record, printed on the documents given to them (their
    subject-access pack): the one internal identifier those documents carry."""
    return f"P-{person_id:07d}"


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Person(models.Model):
    """Personne accompagnée. Created only through `person_create`, which detects duplicates."""

    first_name = models.CharField(_("prénom"), max_length=100)
    last_name = models.CharField(_("nom"), max_length=100)
    birth_date = models.DateField(
        _("date de naissance"),
        validators=[
            MinValueValidator(
                EARLIEST_BIRTH_DATE, _("La date de naissance doit être postérieure à 1900.")
            )
        ],
    )
    # Normalised copy of the names, kept by the service, for duplicate detection and search.
    name_key = models.CharField(max_length=210, editable=False, db_index=True)
    # Blind indexes (HMAC-SHA256 under SEARCH_INDEX_KEY, docs/security.md), computed by save():
    # the only way to search the encrypted identifiers, and the duplicate-detection keys.
    nir_index = models.CharField(max_length=64, editable=False, blank=True, default="")
    france_travail_id_index = models.CharField(
        max_length=64, editable=False, blank=True, default=""
    )
    identity_index = models.CharField(max_length=64, editable=False, default="", db_index=True)
    email = EncryptedEmailField(_("e-mail"), blank=True)
    phone = EncryptedCharField(_("téléphone"), max_length=20, blank=True)
    address = EncryptedCharField(_("adresse"), max_length=300, blank=True)
    postal_code = EncryptedCharField(
        _("code postal"),
        max_length=5,
        blank=True,
        validators=[RegexValidator(r"^\d{5}$", _("Code postal : 5 chiffres."))],
    )
    city = EncryptedCharField(_("commune"), max_length=100, blank=True)
    france_travail_id = EncryptedCharField(
        _("identifiant France Travail"),
        max_length=11,
        blank=True,
        validators=[france_travail_id_validator],
    )
    nir = EncryptedCharField(_("NIR"), max_length=15, blank=True, validators=[validate_nir])

    receives_rsa = models.BooleanField(_("bénéficiaire du rSa"), default=False)
    receives_ass = models.BooleanField(_("bénéficiaire de l'ASS"), default=False)
    rights_ending = models.BooleanField(_("fin de droits"), default=False)
    # When the unemployment benefit ends, if known: the benefit-transition warning tells the
    # référent (and a département partner following the person) some weeks before, when the
    # person may fall to the rSa (notifications/services/rights_end.py).
    rights_end_date = models.DateField(_("date de fin de droits"), null=True, blank=True)
    rqth = EncryptedBooleanField(_("RQTH (travailleur handicapé)"), default=False)
    court_supervision = EncryptedBooleanField(_("suivi judiciaire"), default=False)
    lives_in_qpv = models.BooleanField(_("réside en QPV"), default=False)

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # who created a record must stay known
        related_name="+",
        null=True,
        blank=True,
    )
    updated_at = models.DateTimeField(auto_now=True)
    # What anonymisation keeps for statistics (docs/retention.md), set when the birth date and
    # the postal code are erased; `anonymised_at` marks a person whose identity is gone.
    birth_year = models.PositiveSmallIntegerField(
        _("année de naissance"), null=True, blank=True, editable=False
    )
    # A database default: the bulk loaders (seed_scale's COPY) bypass the ORM.
    departement = models.CharField(
        _("département"), max_length=3, blank=True, default="", db_default="", editable=False
    )
    anonymised_at = models.DateTimeField(_("anonymisée le"), null=True, blank=True, editable=False)
    history = HistoricalRecords(
        excluded_fields=[
            "name_key",
            "nir_index",
            "france_travail_id_index",
            "identity_index",
            "birth_year",
            "departement",
            "anonymised_at",
        ]
    )

    class Meta:
        verbose_name = _("personne")
        verbose_name_plural = _("personnes")
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["name_key", "birth_date"], name="person_identity_idx"),
            # The daily benefit-transition scan reads the few dated ends, never every person.
            models.Index(
                fields=["rights_end_date"],
                condition=models.Q(rights_end_date__isnull=False),
                name="person_rights_end_idx",
            ),
            # The persons list's order (api NameOrderCursorPagination, the pages' list): an
            # organisation that sees many people walks it and stops at the page's end instead of
            # sorting everyone it sees (1.4 s for 52,000 people at 1 M pathways, issue 17).
            models.Index(fields=["last_name", "first_name", "id"], name="person_name_order_idx"),
        ]
        constraints = [
            # A dated end of rights is an end of rights (services/person.py says so in French).
            models.CheckConstraint(
                name="person_rights_end_date_with_flag",
                condition=models.Q(rights_end_date__isnull=True) | models.Q(rights_ending=True),
                violation_error_message=_(
                    "Une date de fin de droits va avec la case « En fin de droits »."
                ),
            ),
            models.UniqueConstraint(
                fields=["nir_index"],
                condition=~models.Q(nir_index=""),
                name="person_unique_nir",
                violation_error_message=_("Une personne avec ce NIR existe déjà."),
            ),
            models.UniqueConstraint(
                fields=["france_travail_id_index"],
                condition=~models.Q(france_travail_id_index=""),
                name="person_unique_france_travail_id",
                violation_error_message=_(
                    "Une personne avec cet identifiant France Travail existe déjà."
                ),
            ),
            models.CheckConstraint(
                name="person_birth_date_plausible",
                condition=models.Q(birth_date__gte=EARLIEST_BIRTH_DATE),
                violation_error_message=_("La date de naissance doit être postérieure à 1900."),
            ),
        ]

    def __str__(self) -> str:
        if self.anonymised_at is not None:
            return f"Personne anonymisée n°{self.pk}"
        # Minimal identity only: never NIR or contact details in logs or admin lists.
        return f"{self.first_name} {self.last_name[:1]}."

    def __repr__(self) -> str:
        return f"<Person n°{self.pk}: {self}>"

    def save(self, *args, **kwargs) -> None:
        self.refresh_search_keys()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = set(update_fields) | set(SEARCH_KEY_FIELDS)
        super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None) -> None:
        # Model validation (forms, admin) must see the current unique blind indexes.
        if isinstance(self.birth_date, dt.date):
            self.refresh_search_keys()
        super().validate_constraints(exclude=exclude)

    def refresh_search_keys(self) -> None:
        """Normalised names and blind indexes, from the current values (see `search_keys`)."""
        if self.anonymised_at is not None:
            # An anonymised person must never match anyone in duplicate detection or search.
            for field in SEARCH_KEY_FIELDS:
                setattr(self, field, "")
            return
        keys = search_keys(
            self.first_name, self.last_name, self.birth_date, self.nir, self.france_travail_id
        )
        for field, value in zip(SEARCH_KEY_FIELDS, keys, strict=True):
            setattr(self, field, value)

    @property
    def reference(self) -> str:
        return person_reference(self.pk)

    def age(self, on: dt.date | None = None) -> int:
        return age_on(self.birth_date, on or timezone.localdate())

    # The age brackets the public policies target (the Missions locales, senior measures): one
    # rule for the record's page, its API and the API's list writer (api/list_rows.py).
    def under_26_on(self, day: dt.date | None = None) -> bool:
        return self.age(day) < 26

    def over_55_on(self, day: dt.date | None = None) -> bool:
        return self.age(day) > 55

    @property
    def under_26(self) -> bool:
        return self.under_26_on()

    @property
    def over_55(self) -> bool:
        return self.over_55_on()
