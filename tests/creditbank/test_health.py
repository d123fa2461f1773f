import pytest
import redis

from tests.processes import free_port, start_redis

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_database_broker_and_storage_answer(client):
    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_readyz_names_the_storage_when_its_folder_cannot_be_made(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "media"},
        },
    }

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


@pytest.mark.slow
def test_readyz_answers_503_naming_the_broker_while_redis_is_down(client, settings):
    port = free_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    settings.READINESS_TIMEOUT_SECONDS = 0.5
    server = start_redis(port)
    try:
        assert client.get("/readyz").status_code == 200

        server.terminate()
        server.wait(timeout=10)
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["failing"] == ["broker"]
        assert down.json()["checks"]["database"] == "ok"

        server = start_redis(port)
        assert client.get("/readyz").status_code == 200
    finally:
        server.kill()
        server.wait(timeout=10)


def test_readyz_answers_503_naming_the_database_when_it_fails(client, monkeypatch):
    from creditbank import health

    def broken() -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setitem(health.CHECKS, "database", broken)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert "unreachable" not in response.content.decode()  # details go to the log only


def test_a_request_that_finds_the_database_down_gets_503_with_retry_after_not_500(
    client, monkeypatch
):
    from django.db import OperationalError
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    from accounts.ledger import api
    from tests.accounts.factories import UserFactory

    user = UserFactory()
    token = AuthToken.objects.create(user)[1]

    def database_down(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection failed: the database system is shutting down")

    monkeypatch.setattr(api.MyAccountView, "get", database_down)
    api_client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    response = api_client.get("/api/v1/accounts/me/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The service is briefly unavailable. Please try again in a few seconds."
    }


def test_a_page_that_finds_redis_down_gets_the_503_page(client, monkeypatch):
    from creditbank import views

    def redis_down(*args: object, **kwargs: object) -> None:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(views, "render", redis_down)
    response = client.get("/")

    assert response.status_code == 503
    assert "服务暂时不可用" in response.content.decode()
