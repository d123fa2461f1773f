from pathlib import Path

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
