"""The API's writes honour an `Idempotency-Key` header (services/idempotency.py): the whole
request runs in one transaction that holds the key's row from the start; a 2xx answer is stored
with it, any other answer drops it (nothing was applied: the retry runs again). A retry with the
same key and body gets the stored answer (`Idempotent-Replayed: true`); with another body, 422.
"""

import json

from django.db import transaction
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ..services import idempotency
from .actor import request_actor

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REPLAYED_HEADER = "Idempotent-Replayed"


class IdempotentWritesMixin:
    """For the API's viewsets (parcours.api.views.ActorViewMixin)."""

    _idempotency_row = None

    def _wants_idempotency(self, request) -> bool:
        return request.method in WRITE_METHODS and META_KEY in request.META

    def dispatch(self, request, *args, **kwargs):
        if not self._wants_idempotency(request):
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            row = self._idempotency_row
            if row is not None:
                if 200 <= response.status_code < 300:
                    data = getattr(response, "data", None)
                    stored = JSONRenderer().render(data).decode("utf-8") if data is not None else ""
                    idempotency.idempotency_key_complete(
                        row, status_code=response.status_code, response=stored
                    )
                else:
                    row.delete()  # nothing was applied: the retry must run again
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if not self._wants_idempotency(request):
            return
        actor = request_actor(request)
        self._idempotency_row = idempotency.idempotency_key_begin(
            scope=idempotency.scope_of(
                organisation_id=actor.organisation.pk, user_id=actor.user.pk
            ),
            key=request.META[META_KEY],
            fingerprint=idempotency.fingerprint_of(
                request.method, request.get_full_path(), request._request.body
            ),
        )

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.IdempotentReplay):
            row = exc.row
            return Response(
                json.loads(row.response) if row.response else None,
                status=row.status_code,
                headers={REPLAYED_HEADER: "true"},
            )
        if isinstance(exc, idempotency.IdempotencyConflict):
            return Response({"detail": exc.message, "code": "idempotency_key_reused"}, status=422)
        if isinstance(exc, idempotency.IdempotencyInvalid):
            return Response({"detail": exc.message, "code": "invalid", HEADER: [exc.message]}, 400)
        return super().handle_exception(exc)  # type: ignore[misc]
