from celery import shared_task


@shared_task
def ping() -> str:
    """Answers "pong": lets operators and tests see that a worker takes tasks from the broker."""
    return "pong"
