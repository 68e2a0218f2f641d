"""One exception handler: domain errors and Django validation become clear 4xx answers.

Bad input is a 400 with per-field French messages; a record out of scope is a 404 exactly like
a missing one; a forbidden move is a 409 naming the state and the move. Never a 500 for input.
The database unreachable (a connection lost mid-request, PostgreSQL restarting) is a 503 the
client may retry, in JSON like every other answer (issue 16).
"""

import logging

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import DATABASE_UNAVAILABLE, DomainError, DuplicatePerson, DuplicateReferral

logger = logging.getLogger(__name__)

# Seconds a client is told to wait before retrying after a 503.
RETRY_AFTER_SECONDS = 5


def body_too_large() -> dict:
    megabytes = f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_000_000:.1f}".replace(".", ",")
    return {
        "detail": f"Requête trop volumineuse : {megabytes} Mo au plus (hors pièces jointes).",
        "code": "request_too_large",
    }


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        # Django's own answer is an HTML 400 page; an API client gets JSON, and the right status.
        return Response(body_too_large(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, ObjectDoesNotExist | Http404):
        # One French answer whatever the model ("No Person matches…" would name it, in English).
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, DomainError):
        body: dict = {"detail": exc.message, "code": exc.code}
        if exc.fields:
            body.update(exc.fields)
        if isinstance(exc, DuplicatePerson) and exc.existing_person_id is not None:
            body["existing_person"] = exc.existing_person_id
        if isinstance(exc, DuplicatePerson) and exc.access_request_possible:
            body["access_request"] = "/api/v1/access-requests/"
        if isinstance(exc, DuplicateReferral) and exc.existing_referral_id is not None:
            body["existing_referral"] = exc.existing_referral_id
        return Response(body, status=exc.status_code)
    if isinstance(exc, IntegrityError):
        # A constraint the services did not anticipate (a race): conflict, not a crash.
        return Response(
            {
                "detail": _(
                    "Cette modification contredit l'état actuel du dossier ; rechargez-le."
                ),
                "code": "conflict",
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, OperationalError | InterfaceError):
        # Logged like an unhandled error (the operator must see it), answered as a pause.
        logger.error("database unavailable during an API request", exc_info=exc)
        return database_unavailable_response()
    return drf_exception_handler(exc, context)


def database_unavailable_response() -> Response:
    response = Response(
        {"detail": DATABASE_UNAVAILABLE, "code": "service_unavailable"},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


# --- The error shapes, for the OpenAPI document (parcours/api/schema.py) ----------------------


class ErrorSerializer(serializers.Serializer):
    """401, 403, 404, 405 and 409: one French sentence; the domain's refusals add a code and,
    for a duplicate, the record that already exists."""

    detail = serializers.CharField(help_text="Le message, en français.")
    code = serializers.CharField(
        required=False, help_text="Le code de l'erreur (par exemple `archived`, `conflict`)."
    )
    existing_person = serializers.IntegerField(
        required=False, help_text="Doublon : la personne déjà enregistrée."
    )
    access_request = serializers.CharField(
        required=False, help_text="Doublon suivi ailleurs : où demander l'accès."
    )
    existing_referral = serializers.IntegerField(
        required=False, help_text="Doublon : l'orientation déjà ouverte."
    )


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
)
class MessagesField(serializers.CharField):
    """A domain rule's sentence, or the messages of a field of that name (a barrier's
    `detail`)."""


class ValidationErrorSerializer(serializers.Serializer):
    """400: the messages of each field named, as a list of French messages (nested for a
    nested field); `non_field_errors` for the payload as a whole; a domain rule adds its
    sentence and code."""

    detail = MessagesField(required=False, help_text="Le message, en français.")
    code = MessagesField(required=False, help_text="Le code de la règle refusée.")
    non_field_errors = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Les messages sur l'ensemble."
    )
