"""Partner systems' tokens as the administrators' API shows them (never the digest; the secret
only in the answer that made it)."""

from django.conf import settings
from rest_framework import serializers

from .. import api_scopes
from ..models import ApiToken
from ..services.api_token import MAX_RATE, SYSTEM_NAME_MAX, TECHNICAL_ROLES, is_technical_account


class ApiTokenAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    technical = serializers.BooleanField(help_text="Compte technique créé pour le système")


class ApiTokenScopeSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class ApiTokenSerializer(serializers.ModelSerializer):
    account = serializers.SerializerMethodField()
    scopes = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    revocation_label = serializers.CharField(source="get_revocation_display", read_only=True)
    created_by = serializers.SerializerMethodField()
    replaces: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    replaced_by = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "system_name",
            "prefix",
            "account",
            "scopes",
            "requests_per_minute",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
            "last_used_ip",
            "status",
            "status_label",
            "revoked_at",
            "revocation",
            "revocation_label",
            "replaces",
            "replaced_by",
        ]
        read_only_fields = fields

    def get_account(self, token: ApiToken) -> ApiTokenAccountSerializer:
        account = token.account
        return {  # type: ignore[return-value]
            "id": account.pk,
            "name": account.get_full_name() or account.get_username(),
            "technical": is_technical_account(account),
        }

    def get_scopes(self, token: ApiToken) -> ApiTokenScopeSerializer(many=True):  # type: ignore[valid-type]
        return [{"code": s, "label": api_scopes.scope_label(s)} for s in token.scopes]

    def get_status(self, token: ApiToken) -> str:
        return str(token.status().value)

    def get_status_label(self, token: ApiToken) -> str:
        return str(token.status().label)

    def get_created_by(self, token: ApiToken) -> str | None:
        user = token.created_by
        return (user.get_full_name() or user.get_username()) if user is not None else None

    def get_replaced_by(self, token: ApiToken) -> int | None:
        successor = getattr(token, "replaced_by", None)
        return successor.pk if successor is not None else None


class IssuedApiTokenSerializer(ApiTokenSerializer):
    secret = serializers.CharField(
        help_text="Le jeton lui-même : montré cette fois seulement, parcours n'en garde que "
        "l'empreinte."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    system_name = serializers.CharField(max_length=SYSTEM_NAME_MAX, label="système")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(api_scopes.SCOPES)),
        allow_empty=False,
        max_length=len(api_scopes.SCOPES),
        label="portée",
    )
    valid_days = serializers.IntegerField(
        min_value=1,
        max_value=settings.PARCOURS_API_TOKEN_MAX_DAYS,
        default=settings.PARCOURS_API_TOKEN_DEFAULT_DAYS,
        label="durée de validité (jours)",
    )
    member = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        label="membre",
        help_text="Le compte d'un membre de l'organisation ; sinon un compte technique est créé.",
    )
    # Whether a role is needed (no member chosen) is the service's rule (api_token_create),
    # the same for the pages.
    role = serializers.ChoiceField(
        choices=[(r.value, r.label) for r in TECHNICAL_ROLES],
        required=False,
        allow_null=True,
        label="rôle du compte technique",
    )
    requests_per_minute = serializers.IntegerField(
        min_value=1, max_value=MAX_RATE, required=False, allow_null=True, label="débit"
    )
