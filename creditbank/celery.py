"""The Celery app: worker and beat run `celery -A creditbank worker|beat`."""

import os
from pathlib import Path

from celery import Celery

from creditbank import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditbank.settings")
# Redis brokers through the portal's transport (creditbank/broker.py), in every process.
broker.register()

app = Celery("creditbank")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """The embedded file-system broker needs its folders before anyone sends a message."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    backend = app.conf.result_backend or ""
    if backend.startswith("file://"):
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _prepare_embedded_broker(sender: Celery, **kwargs: object) -> None:
    ensure_broker_folders()
