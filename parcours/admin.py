"""Django admin: administrators manage organisations, services, memberships and agreements;
superusers also set the retention durations.

People's records (persons, pathways, referrals) are deliberately absent: administrators manage
users, not records (see docs/access-control.md).
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .access import organisations_administered_by
from .models import Agreement, EmploymentArea, Membership, Organisation, RetentionRule, Service
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


@admin.register(EmploymentArea)
class EmploymentAreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "departement"]
    search_fields = ["code", "name"]


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["name", "kind", "siae_kind", "departement", "employment_area"]
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


@admin.register(Membership)
class MembershipAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    organisation_path = "organisation"

    list_display = ["user", "organisation", "role", "is_active"]
    list_filter = ["role", "is_active", "organisation__kind"]
    search_fields = ["user__username", "user__last_name", "organisation__name"]
    autocomplete_fields = ["organisation"]


@admin.register(Agreement)
class AgreementAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    organisation_path = "parties"

    list_display = ["name", "level", "starts_on", "ends_on", "first_appointment_within_days"]
    list_filter = ["level"]
    filter_horizontal = ["parties"]
    search_fields = ["name"]


@admin.register(RetentionRule)
class RetentionRuleAdmin(SimpleHistoryAdmin):
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
