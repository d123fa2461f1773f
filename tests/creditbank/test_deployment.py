import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

COMPOSE = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())


def test_the_deployment_runs_every_process_and_service_with_a_health_check():
    services = COMPOSE["services"]

    for name in ["web", "worker", "beat", "postgres", "redis", "minio"]:
        assert "healthcheck" in services[name], name
    assert "gunicorn" in Path(settings.BASE_DIR, "Dockerfile").read_text()
    assert services["worker"]["command"][:4] == ["celery", "--app", "creditbank", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "--app", "creditbank", "beat"]


def test_the_application_containers_select_postgres_redis_and_s3_by_environment():
    env = COMPOSE["services"]["web"]["environment"]

    assert env["DJANGO_ENV"] == "production"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["STORAGE_S3_BUCKET"]


def test_state_lives_in_volumes():
    assert set(COMPOSE["volumes"]) >= {"pgdata", "redisdata", "miniodata"}


@pytest.mark.slow
def test_the_image_build_steps_run_under_production_settings_with_the_build_placeholders(tmp_path):
    """The Dockerfile compiles translations and collects static files with DJANGO_ENV=production
    and only the placeholders of scripts/docker/build.env; production settings refuse to load
    without their keys, so the build would stop there if a required setting were missing."""
    base = Path(settings.BASE_DIR)
    assert ". scripts/docker/build.env" in (base / "Dockerfile").read_text()
    placeholders = dict(
        line.split("=", 1)
        for line in (base / "scripts/docker/build.env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_ENV": "production",
        "VAR_DIR": str(tmp_path / "var"),
        **placeholders,
    }
    for command in (["compile_translations"], ["collectstatic", "--noinput"]):
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=base,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "var/static/staticfiles.json").exists()
