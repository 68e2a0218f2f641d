"""`/api/v1/territory/overdue-referrals/`: the overdue referrals of a territorial
coordinator's employment areas (issue 18) — organisations, service, delay and a pseudonymous
reference, never a person. The page's service, gate and journal. Thin."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api_scopes import Family
from ..selectors.referral_statistics import FilterError
from ..selectors.territory import OVERDUE_KINDS
from ..services.territory import territory_areas, territory_overdue_read
from .actor import HasMembership, request_actor


class OverdueQuerySerializer(serializers.Serializer):
    area = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class OverdueReferralSerializer(serializers.Serializer):
    reference = serializers.CharField(help_text="Référence anonyme (jamais l'identifiant)")
    kind = serializers.ChoiceField(choices=list(OVERDUE_KINDS))
    kind_label = serializers.CharField()
    sender = serializers.CharField(help_text="Organisme prescripteur")
    receiver = serializers.CharField(help_text="Organisme destinataire")
    service = serializers.CharField()
    area = serializers.CharField(help_text="Bassin d'emploi du destinataire")
    due_at = serializers.DateTimeField(help_text="Échéance dépassée")
    days_overdue = serializers.IntegerField()


class LatenessSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()
    oldest_days = serializers.IntegerField()


class OverdueReferralsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_receiver = LatenessSerializer(many=True)
    by_sender = LatenessSerializer(many=True)
    results = OverdueReferralSerializer(many=True, source="rows")


class OverdueReferralsView(APIView):
    """No personal data: no name, no NIR, no free text; the most overdue first (at most 500,
    `total` counts them all)."""

    token_family = Family.REFERRALS
    permission_classes = (IsAuthenticated, HasMembership)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "area", int, description="Seulement ce bassin d'emploi (un des vôtres)"
            )
        ],
        responses={200: OverdueReferralsSerializer},
    )
    def get(self, request):
        actor = request_actor(request)
        territory_areas(actor=actor)  # 403 before the filter is read
        query = OverdueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            overdue = territory_overdue_read(actor=actor, area_id=query.validated_data.get("area"))
        except FilterError as error:
            raise serializers.ValidationError({"area": [str(error)]}) from None
        return Response(OverdueReferralsSerializer(overdue).data)
