"""Django admin: administrators manage organisations, services, memberships and agreements;
superusers also set the retention durations. Agreements are saved through their services only:
an administrator proposes, changes and accepts for the organisations they administer; a
superuser (the territorial administrator) for any party.

People's records (persons, pathways, referrals) are deliberately absent: administrators manage
users, not records (see docs/access-control.md).
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from . import access
from .access import organisations_administered_by
from .categories import SENSITIVE_CATEGORIES, DataCategory
from .errors import DomainError, InvalidInput
from .models import (
    Agreement,
    AgreementParty,
    AgreementPartyStatus,
    EmploymentArea,
    EscalationAudience,
    Membership,
    Organisation,
    RetentionRule,
    Service,
)
from .models.agreement import MAX_ESCALATION_HOURS, MAX_ESCALATION_RUNGS
from .services import agreement as agreement_services
from .services.organisation import organisation_create


class ScopedAdminMixin:
    """Non-superusers administer their own organisations only (parcours.access decides)."""

    organisation_path = "pk"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)  # type: ignore[misc]
        if request.user.is_superuser:
            return queryset
        administered = organisations_administered_by(request.user).values("pk")
        return queryset.filter(**{f"{self.organisation_path}__in": administered}).distinct()


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's views of an object's history and of a past version look the
    object up without the admin's queryset, and save a past version ("revert") for anyone who
    may merely view the model. Here both find the object within `get_queryset`, as the change
    view does (else the admin's "does not exist" redirect), and only a user who may change the
    object reverts it."""

    def _in_scope(self, request, object_id) -> bool:
        if self.get_object(request, object_id) is not None:
            return True
        # A deleted object's history: the superuser's alone (whose it was is no longer known).
        try:
            pk = self.opts.pk.to_python(unquote(object_id))
        except ValidationError:  # not a key of this model
            return False
        return request.user.is_superuser and not self.model._default_manager.filter(pk=pk).exists()

    def history_view(self, request, object_id, extra_context=None):
        if not self._in_scope(request, object_id):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not self._in_scope(request, object_id):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST" and not self.has_change_permission(
            request, self.get_object(request, object_id)
        ):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(EmploymentArea)
class EmploymentAreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "departement"]
    search_fields = ["code", "name"]


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(ScopedAdminMixin, ScopedHistoryAdmin):
    list_display = ["name", "siret", "kind", "siae_kind", "departement", "employment_area"]
    list_filter = ["kind", "departement"]
    search_fields = ["name", "siret"]
    inlines = [ServiceInline]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New organisations get their permission group from the service.
        fields = {f.name: getattr(obj, f.name) for f in obj._meta.concrete_fields}
        for excluded in ("id", "group", "created_at"):
            fields.pop(excluded, None)
        created = organisation_create(**fields)
        obj.pk, obj.group_id = created.pk, created.group_id


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "organisation", "role", "is_active", "employment_areas"]

    def clean(self):
        cleaned = super().clean()
        # The areas are saved after the row: checked here, against the role chosen.
        candidate = Membership(role=cleaned.get("role") or "")
        try:
            candidate.check_employment_areas(cleaned.get("employment_areas"))
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(ScopedAdminMixin, ScopedHistoryAdmin):
    organisation_path = "organisation"
    form = MembershipAdminForm
    filter_horizontal = ["employment_areas"]

    list_display = ["user", "organisation", "role", "is_active"]
    list_filter = ["role", "is_active", "organisation__kind"]
    search_fields = ["user__username", "user__last_name", "organisation__name"]
    autocomplete_fields = ["organisation"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organisation":
            # The autocomplete only proposes the organisations administered, but the field
            # would accept any: a member, an administrator even, of someone else's organisation.
            kwargs["queryset"] = organisations_administered_by(request.user).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _rung_hours(n: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Échelon %(n)s : après (heures depuis l'alerte)") % {"n": n},
        required=False,
        min_value=1,
        max_value=MAX_ESCALATION_HOURS,
    )


def _rung_audience(n: int) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Échelon %(n)s : destinataires") % {"n": n},
        required=False,
        choices=[("", "—"), *EscalationAudience.choices],
    )


# The ladder's rungs as fixed slots of the form (MAX_ESCALATION_RUNGS of them): the form saves
# through the services during its validation, before any inline formset would be validated.
RUNG_SLOTS = tuple(
    (f"rung_{n}_after_hours", f"rung_{n}_audience") for n in range(1, MAX_ESCALATION_RUNGS + 1)
)


class AgreementAdminForm(forms.ModelForm):
    """Every save goes through the agreement services, as the API does: proposing, changing and
    accepting on behalf of a party the user administers. The admin runs the whole view in one
    transaction (ModelAdmin.changeform_view), so the services run here, during validation: their
    refusals become this form's errors, and a later failure rolls them back. `_post_clean` is
    therefore empty (no model validation nor raw save: the agreement is the services')."""

    signatories = forms.ModelMultipleChoiceField(
        label=_("Signataires"),
        queryset=Organisation.objects.order_by("name"),
        widget=FilteredSelectMultiple(_("signataires"), is_stacked=False),
        help_text=_(
            "Toute organisation ajoutée doit accepter la convention avant d'être liée ; "
            "un retrait prend effet immédiatement."
        ),
    )
    acting_for = forms.ModelChoiceField(
        label=_("Au nom de"),
        queryset=Organisation.objects.none(),
        help_text=_(
            "L'organisation signataire qui propose ou modifie la convention : "
            "une nouvelle version vaut son acceptation."
        ),
    )
    accept_for = forms.ModelMultipleChoiceField(
        label=_("Accepter aussi au nom de"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Signataires que vous administrez et pour lesquels vous acceptez la version en cours."
        ),
    )
    shared_categories = forms.MultipleChoiceField(
        label=_("Catégories partagées au titre de la convention"),
        choices=[(c.value, c.label) for c in DataCategory if c not in SENSITIVE_CATEGORIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Jamais santé ni justice : elles exigent l'accord de la personne."),
    )
    rung_1_after_hours, rung_1_audience = _rung_hours(1), _rung_audience(1)
    rung_2_after_hours, rung_2_audience = _rung_hours(2), _rung_audience(2)
    rung_3_after_hours, rung_3_audience = _rung_hours(3), _rung_audience(3)
    rung_4_after_hours, rung_4_audience = _rung_hours(4), _rung_audience(4)
    rung_5_after_hours, rung_5_audience = _rung_hours(5), _rung_audience(5)

    user: Any = None  # set by AgreementAdmin.get_form: the admin user acting

    class Meta:
        model = Agreement
        fields = [
            "name",
            "level",
            "starts_on",
            "ends_on",
            "review_on",
            "acknowledge_within_working_days",
            "appointment_set_within_days",
            "first_appointment_within_days",
            "no_show_grace_hours",
            "reminder_hours_before",
            "shared_categories",
            "receiver_may_transfer",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            ladder = agreement_services.agreement_ladder(self.instance)
            for (hours_field, audience_field), (hours, audience) in zip(
                RUNG_SLOTS, ladder, strict=False
            ):
                self.fields[hours_field].initial = hours
                self.fields[audience_field].initial = audience
        administered = access.organisations_administered_by(self.user).order_by("name")
        if self.instance.pk is None:
            self.fields["acting_for"].queryset = administered
            self.fields["accept_for"].queryset = administered
            # A superuser administers every organisation: a searchable list, not checkboxes.
            self.fields["accept_for"].widget = FilteredSelectMultiple(
                _("organisations"), is_stacked=False
            )
        else:
            parties = self.instance.parties.all()
            self.fields["acting_for"].queryset = administered.filter(pk__in=parties)
            self.fields["accept_for"].queryset = administered.filter(pk__in=parties)
            self.fields["signatories"].initial = list(parties)
        if self.fields["acting_for"].queryset.count() == 1:
            self.fields["acting_for"].initial = self.fields["acting_for"].queryset.first()

    def clean(self):
        cleaned = super().clean()
        for hours_field, audience_field in RUNG_SLOTS:
            hours, audience = cleaned.get(hours_field), cleaned.get(audience_field)
            if (hours is None) != (not audience) and hours_field not in self.errors:
                missing = audience_field if hours is not None else hours_field
                self.add_error(missing, gettext("Un échelon a un délai et des destinataires."))
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                self.instance = self._save_through_services(cleaned)
        except ObjectDoesNotExist:
            self.add_error("acting_for", gettext("Cette organisation n'est pas signataire."))
        except DomainError as error:
            self._add_domain_error(error)
        return cleaned

    def _save_through_services(self, cleaned) -> Agreement:
        actor = access.admin_actor_for(self.user, cleaned["acting_for"])
        terms = {f: cleaned[f] for f in self.Meta.fields if f in cleaned}
        party_ids = [o.pk for o in cleaned["signatories"]]
        ladder = [
            (cleaned[hours_field], cleaned[audience_field])
            for hours_field, audience_field in RUNG_SLOTS
            if cleaned.get(hours_field) is not None
        ]
        ladder_changed = any(f in self.changed_data for slot in RUNG_SLOTS for f in slot)
        if self.instance.pk is None:
            agreement = agreement_services.agreement_propose(
                actor=actor, party_ids=party_ids, escalation_ladder=ladder, **terms
            )
        else:
            agreement = agreement_services.agreement_update(
                actor=actor,
                agreement_id=self.instance.pk,
                party_ids=party_ids if "signatories" in self.changed_data else None,
                escalation_ladder=ladder if ladder_changed else None,
                **{f: v for f, v in terms.items() if f in self.changed_data},
            )
        answers = dict(agreement.signatures.values_list("organisation_id", "status"))
        for organisation in cleaned.get("accept_for") or []:
            if organisation.pk not in answers:
                raise InvalidInput(
                    gettext("« %(name)s » n'est pas signataire.") % {"name": organisation.name},
                    fields={"accept_for": [gettext("Choisissez parmi les signataires.")]},
                )
            if answers[organisation.pk] != AgreementPartyStatus.ACCEPTED:
                agreement_services.agreement_accept(
                    actor=access.admin_actor_for(self.user, organisation),
                    agreement_id=agreement.pk,
                )
        return agreement

    def _add_domain_error(self, error: DomainError) -> None:
        """The service's French message on top, its per-field messages next to the fields."""
        self.add_error(None, error.message)
        for field, messages in error.fields.items():
            field = {"parties": "signatories"}.get(field, field)
            if field in self.fields:
                for message in messages:
                    self.add_error(field, message)

    def _post_clean(self):
        pass


class AgreementPartyInline(admin.TabularInline):
    """Each party's answer: read-only here (answers go through the form's "accept for")."""

    model = AgreementParty
    extra = 0
    can_delete = False
    fields = ("organisation", "status", "decided_at", "decided_by", "decline_reason")
    readonly_fields = fields
    verbose_name_plural = _("réponses des signataires")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Agreement)
class AgreementAdmin(ScopedAdminMixin, ScopedHistoryAdmin):
    organisation_path = "parties"
    form = AgreementAdminForm
    inlines = [AgreementPartyInline]

    list_display = ["name", "level", "starts_on", "ends_on", "accepted_by_every_party"]
    list_filter = ["level"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("signatures")

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["acting_for", "name", "level", "signatories", "accept_for"]}),
            (_("Dates"), {"fields": ["starts_on", "ends_on", "review_on"]}),
            (
                _("Délais et partage"),
                {
                    "fields": [
                        "acknowledge_within_working_days",
                        "appointment_set_within_days",
                        "first_appointment_within_days",
                        "no_show_grace_hours",
                        "reminder_hours_before",
                        "shared_categories",
                        "receiver_may_transfer",
                    ]
                },
            ),
            (
                _("Échelle d'escalade"),
                {
                    "fields": [list(slot) for slot in RUNG_SLOTS],
                    "description": _(
                        "Les relances d'une alerte restée sans suite ni prise en compte : "
                        "chaque échelon dit après combien d'heures depuis l'alerte et à qui. "
                        "Sans échelon, l'échelle par défaut s'applique (les responsables des "
                        "deux structures, 72 heures après l'alerte). La changer est une "
                        "nouvelle version, que chaque signataire accepte à nouveau."
                    ),
                },
            ),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    @admin.display(boolean=True, description=_("acceptée par chaque signataire"))
    def accepted_by_every_party(self, obj: Agreement) -> bool:
        return obj.is_accepted_by_every_party()

    def save_model(self, request, obj, form, change):
        """Saved by the services during the form's validation (AgreementAdminForm)."""

    def save_related(self, request, form, formsets, change):
        """The parties and their answers too: nothing left to save (the answers' inline is
        read-only); the change message reads what formsets saved, which is nothing."""
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def has_delete_permission(self, request, obj=None):
        # Deleting would drop a basis of access without recomputing it: an agreement ends with
        # an end date, or when a party declines it.
        return False

    def revert_disabled(self, request, obj=None):
        # Reverting to a past version would skip the parties' answers: change it instead.
        return True


@admin.register(RetentionRule)
class RetentionRuleAdmin(ScopedHistoryAdmin):
    """Retention durations (docs/retention.md): they bind every organisation, so only
    superusers change them; the history says who changed which duration, when."""

    list_display = ["category", "active_months", "archived_months", "reference", "updated_at"]
    ordering = ["category"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        # A missing row means the default: deleting would silently change the duration.
        return False


# django-axes keeps only its running counts (docs/security.md, "Lockout"): superusers unlock an
# account by deleting its attempt. Its two logs are switched off, so not offered.
def _unregister_axes_logs() -> None:
    from axes.models import AccessFailureLog, AccessLog

    for model in (AccessLog, AccessFailureLog):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_unregister_axes_logs()
