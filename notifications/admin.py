"""The platform's operators see the outbox's health (never people's records): what failed and
why, when the next attempt is; they send again or cancel (docs/operations.md, « The outbox for
operators »). Rows change only through notifications/services/outbox_operations.py."""

from django.contrib import admin, messages

from .models import OutboxMessage
from .services.outbox_operations import outbox_cancel, outbox_resend


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "to_email",
        "status",
        "attempts",
        "next_attempt_at",
        "smtp_code",
        "last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "last_error"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["resend", "cancel"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_operate_permission(self, request) -> bool:
        """The actions: the platform's operators (superusers) only, like the page itself."""
        return request.user.is_superuser

    @admin.action(description="Renvoyer (échecs et annulés)", permissions=["operate"])
    def resend(self, request, queryset):
        self._operate(request, queryset, outbox_resend, "remis à envoyer", "ni en échec ni annulés")

    @admin.action(description="Annuler (à envoyer et échecs)", permissions=["operate"])
    def cancel(self, request, queryset):
        self._operate(
            request, queryset, outbox_cancel, "annulé(s)", "déjà envoyés ou en cours d'envoi"
        )

    def _operate(self, request, queryset, operation, done: str, why_skipped: str) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = operation(operator=request.user, message_ids=ids)
        skipped = len(ids) - count
        self.message_user(
            request,
            f"{count} e-mail(s) {done}"
            + (f" ; {skipped} ignoré(s) ({why_skipped})." if skipped else "."),
            messages.SUCCESS if count else messages.WARNING,
        )
