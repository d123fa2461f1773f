# The production image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_ENV=production \
    VAR_DIR=/app/var

WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY . .
# Build-time only: translations and static files need production settings to load, not real
# secrets (scripts/docker/build.env holds placeholders; tests/creditbank/test_deployment.py runs it).
RUN set -a && . scripts/docker/build.env && set +a \
 && python manage.py compile_translations \
 && python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 --home /app creditbank \
 && mkdir -p /app/var && chown -R creditbank /app/var

USER creditbank
EXPOSE 8000
CMD ["gunicorn", "creditbank.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
