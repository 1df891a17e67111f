"""Celery adapters for aggregation: an id in, the service call, nothing else (queue "analytics")."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    name="analytics.aggregation_run",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def aggregation_run(job_id: int) -> None:
    from .services.aggregation import aggregation_run as run

    run(job_id)


@shared_task(name="analytics.aggregation_nightly")
def aggregation_nightly() -> None:
    from .services.aggregation import aggregation_nightly as nightly

    nightly()


@shared_task(name="analytics.aggregation_closed_waves")
def aggregation_closed_waves() -> None:
    from .services.aggregation import aggregation_closed_waves as closed

    closed()


@shared_task(name="analytics.aggregation_sweep")
def aggregation_sweep() -> None:
    from .services.aggregation import aggregation_sweep as sweep

    sweep()


@shared_task(
    name="analytics.research_export_run",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def research_export_run(job_id: int) -> None:
    from .services.research import research_export_run as run

    run(job_id)


@shared_task(name="analytics.research_export_sweep")
def research_export_sweep() -> None:
    from .services.research import research_export_sweep as sweep

    sweep()
