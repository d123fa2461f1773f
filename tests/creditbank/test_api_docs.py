import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_and_documents_token_login(client):
    response = client.get("/api/v1/schema/")

    schema = yaml.safe_load(response.content)
    assert response.status_code == 200
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in schema["paths"]
    body = schema["components"]["schemas"]["TokenRequestRequest"]
    assert set(body["required"]) == {"username", "password"}


def test_the_interactive_docs_load_their_assets_from_this_server(client):
    response = client.get("/api/v1/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
    assert "/static/drf_spectacular_sidecar/" in page


def test_the_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_schema_documents_how_a_learner_answers_an_institutions_invitation(client):
    schema = yaml.safe_load(client.get("/api/v1/schema/").content)

    paths = schema["paths"]
    assert "get" in paths["/api/v1/collective-invitations/"]
    for answer in ("accept", "decline"):
        assert "post" in paths[f"/api/v1/collective-invitations/{{id}}/{answer}/"]
    member = schema["components"]["schemas"]["Member"]["properties"]
    assert "status" in member
    assert set(schema["components"]["schemas"]["MembershipStatusEnum"]["enum"]) == {
        "invited",
        "active",
        "declined",
    }
