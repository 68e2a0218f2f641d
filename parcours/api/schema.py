"""The OpenAPI document's share of the error contract (parcours/api/errors.py): which error
answers each operation may give, written once here rather than on every view.

Every operation is authenticated: 401 without valid credentials (with the `WWW-Authenticate`
challenge), 403 for a member who may not (or no member at all). A detail route, or a list whose
page or cursor does not exist, answers 404 — out of scope exactly like missing; so does a write
whose body names a record out of scope. An operation that reads input (a body or query
parameters) answers 400 with French messages per field. A write answers 409 when the record's
state forbids it (a move the state machine refuses, an archived record, a race). Views still
document their own success answers, and their downloads' media types, with `extend_schema`.

The hook `document_empty_query_values` says what every optional query parameter does with an
empty value (`?status=`): it is ignored, as if the parameter were absent — django-filter and
DRF's serializers read query strings the way HTML forms send them.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema

from .errors import ErrorSerializer, ValidationErrorSerializer
from .idempotency import IdempotentWritesMixin

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
JSON = ["application/json"]

DESCRIPTIONS = {
    "400": "Données invalides : un message en français par champ.",
    "401": "Identifiants absents ou non valides.",
    "403": "Action non permise à ce membre, ou aucune adhésion active à l'organisation.",
    "404": "Non trouvé : absent, hors du périmètre de l'organisation, ou page inexistante.",
    "409": "L'état du dossier ne permet pas cette action (transition, archive, conflit).",
    "422": "Cette clé d'idempotence a déjà servi pour une autre requête (Idempotency-Key).",
}

# Every write honours an Idempotency-Key (parcours/api/idempotency.py).
IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Une clé unique par écriture (un UUID, par exemple), pour la rejouer sans "
    "risque : une requête répétée avec la même clé et le même contenu, pendant 24 h, reçoit la "
    "réponse de la première (en-tête Idempotent-Replayed: true) et n'est jamais appliquée deux "
    "fois ; la même clé avec un autre contenu répond 422. Clés propres à chaque compte et "
    "organisation.",
}


class RedactedSerializerExtension(OpenApiSerializerExtension):
    """A person's record shows only the fields of the categories the organisation may see
    (parcours/api/redaction.py: the others are left out, not nulled): in the document, no
    field of such a record is required but `categories`, which names those shown."""

    target_class = "parcours.api.redaction.RedactedSerializerMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "response":
            schema["required"] = [
                name for name in schema.get("required", []) if name == "categories"
            ]
        return schema


class ParcoursAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        if self._idempotent():
            operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_PARAMETER))
        responses = operation["responses"]
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = self._error_response(code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation) -> list[str]:
        parameters = operation.get("parameters", [])
        codes = []
        if operation.get("security"):
            codes += ["401", "403"]
        # Input: a body, query parameters, or the Idempotency-Key header (a malformed key is a 400).
        if (
            "requestBody" in operation
            or any(p["in"] == "query" for p in parameters)
            or self._idempotent()
        ):
            codes.append("400")
        paginated = any(p["in"] == "query" and p["name"] in ("page", "cursor") for p in parameters)
        # A write also names records in its body (a pathway, an organisation): out of scope, 404.
        if paginated or self.method in WRITE_METHODS or any(p["in"] == "path" for p in parameters):
            codes.append("404")
        if self.method in WRITE_METHODS:
            codes.append("409")
        if self._idempotent():
            codes.append("422")
        return codes

    def _idempotent(self) -> bool:
        return self.method in WRITE_METHODS and isinstance(self.view, IdempotentWritesMixin)

    def _error_response(self, code: str) -> dict:
        serializer = ValidationErrorSerializer if code == "400" else ErrorSerializer
        response = self._get_response_for_code(serializer, code, JSON)
        response["description"] = DESCRIPTIONS[code]
        if code == "401":
            response["headers"] = {
                "WWW-Authenticate": {
                    "schema": {"type": "string"},
                    "required": True,
                    "description": "Le schéma d'authentification attendu (`Token`).",
                }
            }
        return response


def document_empty_query_values(result, generator, request, public):
    """An optional query parameter sent empty (`?status=`) is ignored: say so
    (`allowEmptyValue`), so that clients and the contract tests know it is no error."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result
