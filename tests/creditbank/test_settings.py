import subprocess
import sys

import pytest
from django.conf import settings

from tests.processes import PRODUCTION_ENV, manage, subprocess_env

# Every test here starts manage.py or Python with the settings of another environment.
pytestmark = pytest.mark.slow


def test_the_deployment_checklist_passes_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required in production" in result.stderr


def test_production_refuses_to_start_without_identity_keys():
    env = {**PRODUCTION_ENV, "IDENTITY_INDEX_KEY": ""}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "IDENTITY_ENCRYPTION_KEYS and IDENTITY_INDEX_KEY are required" in result.stderr


def test_production_refuses_debug():
    result = manage("check", **PRODUCTION_ENV, DJANGO_DEBUG="1")

    assert result.returncode != 0
    assert "DJANGO_DEBUG must not be on in production" in result.stderr


def test_production_refuses_to_start_without_a_portal_url():
    # The address certificates print in their QR code and emails link to: never guessed.
    for url, error in [("", "creditbank.E001"), ("creditbank.example.cn", "creditbank.E002")]:
        result = manage("check", **{**PRODUCTION_ENV, "PORTAL_URL": url})

        assert result.returncode != 0
        assert error in result.stderr
    assert (
        "PORTAL_URL is required in production"
        in manage("check", "--deploy", **{**PRODUCTION_ENV, "PORTAL_URL": ""}).stderr
    )


def test_in_development_the_portal_url_is_the_address_the_server_listens_on():
    show = "from django.conf import settings; print(settings.PORTAL_URL)"
    env = {"DJANGO_ENV": "development", "PORTAL_URL": ""}

    default = manage("shell", "-c", show, **env, HOST="", PORT="")
    make = manage("shell", "-c", show, **env, HOST="0.0.0.0", PORT="8123")  # noqa: S104  # nosec B104

    assert default.stdout.split()[-1] == "http://127.0.0.1:8000", default.stderr
    assert make.stdout.split()[-1] == "http://127.0.0.1:8123", make.stderr
    assert manage("check", **env).returncode == 0


def test_s3_variables_select_the_s3_storage_backend():
    code = (
        "import django; django.setup();"
        "from django.core.files.storage import storages; s = storages['default'];"
        "print(type(s).__name__, s.bucket_name, s.endpoint_url)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=subprocess_env(
            DJANGO_SETTINGS_MODULE="creditbank.settings",
            STORAGE_S3_BUCKET="evidence",
            STORAGE_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.stdout.split() == ["S3Storage", "evidence", "http://127.0.0.1:9000"], (
        result.stderr
    )


def test_without_database_url_the_portal_uses_sqlite():
    code = "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'])"
    env = {k: v for k, v in subprocess_env().items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup();" + code],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "creditbank.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.stdout.strip() == "django.db.backends.sqlite3", result.stderr
