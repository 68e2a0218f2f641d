"""Query filters for list endpoints. Invalid filter values answer 400 with field messages."""

import django_filters as filters
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from ..dates import UTC_OFFSET_INVALID, has_storable_offset
from ..fields import blind_index, normalise_identifier
from ..folding import folded_contains
from ..models import (
    Agreement,
    Appointment,
    BarrierKind,
    EmploymentArea,
    Organisation,
    Pathway,
    Person,
    Referral,
    Service,
)
from ..models.person import normalise_name
from ..selectors import directory, sent_referrals
from ..selectors.directory import DirectoryQuery
from ..selectors.sent_referrals import SENT_BY_LABELS, SENT_SINCE_DAYS, SentBy
from .actor import request_actor


class OffsetCheckedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time whose UTC offset PostgreSQL can store, else a French field error."""

    def to_python(self, value):
        result = super().to_python(value)
        if not has_storable_offset(result):
            raise ValidationError(UTC_OFFSET_INVALID, code="utc_offset")
        return result


class DateTimeFilter(filters.IsoDateTimeFilter):
    """The lists' date-time filter (ISO 8601, offset checked): tests/api/test_date_filters.py
    fuzzes every date filter of every list."""

    field_class = OffsetCheckedIsoDateTimeField


class EmploymentAreaFilter(filters.FilterSet):
    class Meta:
        model = EmploymentArea
        fields = ["departement"]


class OrganisationFilter(filters.FilterSet):
    name = filters.CharFilter(method="filter_name", max_length=200, label=_("nom contient"))
    # The pages' directory search (parcours/selectors/directory.py), the same rule.
    q = filters.CharFilter(
        method="filter_directory", max_length=100, label=_("nom de l'organisme ou d'un service")
    )
    barrier = filters.ChoiceFilter(
        method="filter_directory",
        choices=BarrierKind.choices,
        label=_("frein traité par un de ses services"),
    )
    area = filters.ModelChoiceFilter(
        field_name="employment_area",
        queryset=EmploymentArea.objects.all(),
        label=_("bassin d'emploi"),
    )

    class Meta:
        model = Organisation
        fields = ["kind", "siae_kind", "departement", "area", "name"]

    def filter_name(self, queryset, name, value):
        # Accents and case aside, as everywhere the directory is searched.
        return queryset.filter(folded_contains("name", value))

    def filter_directory(self, queryset, name, value):
        query = DirectoryQuery(text=value.strip()) if name == "q" else DirectoryQuery(barrier=value)
        return directory.matching(queryset, query)


class ServiceFilter(filters.FilterSet):
    class Meta:
        model = Service
        fields = ["organisation", "is_active"]


class PersonFilter(filters.FilterSet):
    last_name = filters.CharFilter(method="filter_last_name", label=_("nom (début)"))
    # Exact search on encrypted identifiers, through their blind index (docs/security.md).
    france_travail_id = filters.CharFilter(
        method="filter_blind_index", label=_("identifiant France Travail (exact)")
    )
    nir = filters.CharFilter(method="filter_blind_index", label=_("NIR (exact)"))

    class Meta:
        model = Person
        fields = ["last_name", "birth_date", "france_travail_id", "nir"]

    def filter_last_name(self, queryset, name, value):
        return queryset.filter(name_key__startswith=normalise_name(value))

    def filter_blind_index(self, queryset, name, value):
        return queryset.filter(**{f"{name}_index": blind_index(name, normalise_identifier(value))})


class PathwayFilter(filters.FilterSet):
    area = filters.ModelChoiceFilter(
        field_name="owner_organisation__employment_area",
        queryset=EmploymentArea.objects.all(),
        label=_("bassin d'emploi"),
    )
    opened_after = DateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = DateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = Pathway
        fields = ["status", "owner_organisation", "referent", "modality", "area", "person"]


class ReferralFilter(filters.FilterSet):
    receiver = filters.ModelChoiceFilter(
        field_name="receiver_organisation",
        queryset=Organisation.objects.all(),
        label=_("destinataire"),
    )
    sender = filters.ModelChoiceFilter(
        field_name="sender_organisation",
        queryset=Organisation.objects.all(),
        label=_("prescripteur"),
    )
    status = filters.MultipleChoiceFilter(choices=Referral._meta.get_field("status").choices)
    area = filters.ModelChoiceFilter(
        field_name="receiver_organisation__employment_area",
        queryset=EmploymentArea.objects.all(),
        label=_("bassin d'emploi du destinataire"),
    )
    sent_after = DateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = DateTimeFilter(field_name="sent_at", lookup_expr="lt")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    # The receiving team: the acting user's own (`me`), nobody's yet (`none`), or a user's id.
    assigned_to = filters.CharFilter(
        method="filter_assigned_to",
        label=_("conseiller en charge"),
        help_text=_("« me » (vous), « none » (personne) ou l'identifiant d'un utilisateur."),
        validators=[
            RegexValidator(
                r"^(me|none|[1-9][0-9]{0,17})$",
                message=_("Valeur attendue : « me », « none » ou l'identifiant d'un utilisateur."),
            )
        ],
    )
    # The sender's list (« Orientations envoyées », selectors/sent_referrals.py): the same
    # scope, « à regarder » and ages as the page.
    sent_by = filters.ChoiceFilter(
        choices=[(by.value, SENT_BY_LABELS[by]) for by in SentBy],
        method="filter_sent_by",
        label=_("envoyées par moi (me) ou par mon organisation (organisation)"),
    )
    needs_attention = filters.ChoiceFilter(
        choices=[("true", _("oui")), ("false", _("non"))],
        method="filter_needs_attention",
        label=_("à regarder : refusées, absences, expirées, clôturées avec leur suite"),
    )
    sent_since = filters.ChoiceFilter(
        choices=[(str(days), f"{days} derniers jours") for days in SENT_SINCE_DAYS],
        method="filter_sent_since",
        label=_("envoyées depuis (jours)"),
    )

    class Meta:
        model = Referral
        fields = ["status", "kind", "receiver", "sender", "area", "pathway"]

    def filter_sent_by(self, queryset, name, value):
        return queryset.filter(sent_referrals.sent_by(request_actor(self.request), SentBy(value)))

    def filter_needs_attention(self, queryset, name, value):
        attention = sent_referrals.needs_attention()
        return queryset.filter(attention) if value == "true" else queryset.exclude(attention)

    def filter_sent_since(self, queryset, name, value):
        return queryset.filter(sent_referrals.sent_since(int(value)))

    def filter_assigned_to(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assigned_user__isnull=True)
        if value == "me":
            return queryset.filter(assigned_user_id=request_actor(self.request).user.pk)
        return queryset.filter(assigned_user_id=int(value))


class AppointmentFilter(filters.FilterSet):
    starts_after = DateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = DateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = Appointment
        fields = ["referral", "outcome", "channel"]


class AgreementFilter(filters.FilterSet):
    party = filters.ModelChoiceFilter(
        field_name="parties", queryset=Organisation.objects.all(), label=_("signataire")
    )

    class Meta:
        model = Agreement
        fields = ["level", "party"]
