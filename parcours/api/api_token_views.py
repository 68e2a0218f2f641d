"""The organisation's administrators manage their partner systems' tokens (the same services
as the page « Accès API des systèmes », web/views/api_tokens.py). Tokens never manage tokens:
these views name no token family (parcours/api_scopes.py), so a token is refused here."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import ApiToken
from ..services import api_token as api_token_services
from .actor import request_actor
from .api_token_serializers import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    IssuedApiTokenSerializer,
)
from .views import ActorViewMixin, record_id


class ApiTokenViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    token_family = None  # closed to tokens: only a signed-in administrator manages them
    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # the OpenAPI document's model; requests: get_queryset

    def get_queryset(self):
        return api_token_services.api_tokens_of(request_actor(self.request))

    def get_object(self):
        return api_token_services.api_tokens_of(request_actor(self.request)).get(
            pk=record_id(self.kwargs["pk"])
        )

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={201: IssuedApiTokenSerializer},
        description="Crée un jeton ; le secret n'est donné que dans cette réponse.",
    )
    def create(self, request):
        payload = ApiTokenCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        issued = api_token_services.api_token_create(
            request_actor(request),
            system_name=data["system_name"],
            scopes=data["scopes"],
            valid_days=data["valid_days"],
            member_id=data.get("member"),
            role=data.get("role"),
            requests_per_minute=data.get("requests_per_minute"),
        )
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={201: IssuedApiTokenSerializer},
        description="Crée le successeur du jeton (même système, compte, portée, débit et durée) ; "
        "l'ancien reste valable pendant le délai de bascule.",
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        issued = api_token_services.api_token_renew(request_actor(request), token_id=record_id(pk))
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: OpenApiResponse(ApiTokenSerializer)})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = api_token_services.api_token_revoke(request_actor(request), token_id=record_id(pk))
        return Response(ApiTokenSerializer(token).data)


def _issued(issued: api_token_services.IssuedToken) -> dict:
    return {**ApiTokenSerializer(issued.token).data, "secret": issued.secret}
