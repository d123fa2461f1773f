from celery import shared_task

from .services import api_tokens_purge_expired


@shared_task
def purge_expired_tokens() -> int:
    """Periodic (beat): expired API tokens are removed so that the table stays small."""
    return api_tokens_purge_expired()
