"""The OpenAPI schema is valid, describes every endpoint, and the docs page answers."""

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from .test_endpoint_matrix import ENDPOINTS, resolved_endpoints

pytestmark = pytest.mark.django_db

OPENAPI_JSON = "application/vnd.oai.openapi+json"
# The API index (/api/v1/) is a browsable list of links, left out of the schema by DRF.
NOT_IN_SCHEMA = {("/api/v1/", "GET")}


@pytest.fixture
def schema(world, client_for) -> dict:
    response = client_for(world.me).get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(OPENAPI_JSON)
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "parcours — API"
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema


def test_schema_describes_every_endpoint(schema):
    described = {
        (path.replace("{id}", "{pk}"), method.upper())
        for path, operations in schema["paths"].items()
        for method in operations
        if method != "parameters"
    }
    expected = resolved_endpoints() - NOT_IN_SCHEMA
    assert expected == set(ENDPOINTS) - NOT_IN_SCHEMA
    assert expected - described == set()
    assert {key for key in described if key[0].startswith("/api/v1/")} == expected


def test_schema_declares_token_and_session_security(schema):
    schemes = schema["components"]["securitySchemes"]
    assert {"tokenAuth", "cookieAuth"} <= set(schemes)
    assert schema["paths"]["/api/v1/persons/"]["get"]["security"] == [
        {"tokenAuth": []},
        {"cookieAuth": []},
    ]


def test_referral_actions_have_distinct_operation_ids(schema):
    ids = [
        operation["operationId"]
        for operations in schema["paths"].values()
        for method, operation in operations.items()
        if method != "parameters"
    ]
    assert len(ids) == len(set(ids))


def _request_schema(operation) -> str | None:
    body = operation.get("requestBody")
    return body["content"]["application/json"]["schema"]["$ref"] if body else None


@pytest.mark.parametrize(
    ("action", "request_component"),
    [
        ("send", None),
        ("accept", None),
        ("record-attendance", None),
        ("record-no-show", None),
        ("withdraw", "CommentRequest"),
        ("refuse", "RefuseRequest"),
        ("set-appointment", "AppointmentWriteRequest"),
        ("close", "ReferralCloseRequest"),
    ],
)
def test_referral_actions_document_their_own_payload(schema, action, request_component):
    """Each move documents the payload it reads (not the referral itself), under its name."""
    operation = schema["paths"][f"/api/v1/referrals/{{id}}/{action}/"]["post"]
    assert operation["operationId"] == f"referrals_{action.replace('-', '_')}"
    ref = _request_schema(operation)
    assert ref == (f"#/components/schemas/{request_component}" if request_component else None)
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert response == {"$ref": "#/components/schemas/Referral"}


def test_ids_in_paths_are_integers(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    assert parameter["schema"]["type"] == "integer", (path, method, parameter)


def test_schema_generation_emits_no_warning(tmp_path):
    """`spectacular --fail-on-warn` turns every unresolved type or name clash into an error."""
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi: 3.")


def test_schema_is_public(anonymous_client):
    """The schema holds no personal data; drf-spectacular serves it to anyone by default
    (SERVE_PERMISSIONS). Pin it so a change of policy is a deliberate one."""
    response = anonymous_client.get("/api/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200
    assert "/api/v1/persons/" in response.json()["paths"]


def test_schema_yaml_by_default(world, client_for):
    response = client_for(world.me).get("/api/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_docs_page(world, client_for, anonymous_client):
    for client in (client_for(world.me), anonymous_client):
        response = client.get("/api/docs/")
        assert response.status_code == 200
        assert b"swagger-ui" in response.content
        # The page's script is a file of its own (under the CSP): it names the schema.
        script = client.get("/api/docs/", {"script": ""})
        assert b"/api/schema/" in script.content


# --- the error contract and the downloads (issue 15: checked live by test_schemathesis.py) -------


def _responses(schema, path: str, method: str = "get") -> dict:
    return schema["paths"][path][method]["responses"]


def test_every_operation_documents_its_error_answers(schema):
    """401/403 everywhere; 400 where input is read; 404 on details, pages and writes; 409 on
    writes — in the API's two error shapes."""
    listed = _responses(schema, "/api/v1/persons/")
    assert {"200", "400", "401", "403", "404"} <= set(listed)
    assert "409" not in listed
    me = _responses(schema, "/api/v1/me/")
    assert set(me) == {"200", "401", "403"}
    move = _responses(schema, "/api/v1/referrals/{id}/accept/", "post")
    assert {"200", "401", "403", "404", "409"} <= set(move)
    bad = listed["400"]["content"]["application/json"]["schema"]
    assert bad == {"$ref": "#/components/schemas/ValidationError"}
    refused = move["409"]["content"]["application/json"]["schema"]
    assert refused == {"$ref": "#/components/schemas/Error"}
    assert move["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


@pytest.mark.parametrize(
    ("path", "files"),
    [
        ("/api/v1/dpo/persons/{id}/access-report/", {"text/csv", "application/pdf"}),
        ("/api/v1/dpo/users/{id}/activity-report/", {"text/csv", "application/pdf"}),
        ("/api/v1/dpo/anomalies/", {"text/csv", "application/pdf"}),
        ("/api/v1/dpo/processing-register/", {"application/pdf"}),
    ],
)
def test_report_downloads_are_documented_with_their_media_types(schema, path, files):
    content = _responses(schema, path)["200"]["content"]
    assert set(content) == {"application/json", *files}
    for media_type in files:
        assert content[media_type]["schema"] == {"type": "string", "format": "binary"}


def test_an_empty_optional_query_parameter_is_documented_as_ignored(schema):
    parameters = schema["paths"]["/api/v1/referrals/"]["get"]["parameters"]
    query = [p for p in parameters if p["in"] == "query"]
    assert query and all(p.get("allowEmptyValue") is True for p in query)
    page_size = next(p for p in query if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "string"}  # `abc` is read as the default size


def test_a_redacted_record_requires_only_its_categories(schema):
    """The fields of a category the organisation does not see are left out of the answer."""
    components = schema["components"]["schemas"]
    for name in ("Person", "Pathway", "PathwayDetail", "Referral"):
        assert components[name]["required"] == ["categories"], name
