"""Celery adapters for aggregation: an id in, the service call, nothing else (queue "analytics")."""

from celery import shared_task
from django.db import OperationalError

from config.jobs import run_job_task


@shared_task(
    name="analytics.aggregation_run",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    bind=True,
)
def aggregation_run(self, job_id: int) -> None:
    from .models import AggregationJob
    from .services.aggregation import aggregation_run as run

    run_job_task(self, AggregationJob, job_id, run)


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
    bind=True,
)
def research_export_run(self, job_id: int) -> None:
    from .models import ResearchExport
    from .services.research import research_export_run as run

    run_job_task(self, ResearchExport, job_id, run)


@shared_task(name="analytics.research_export_sweep")
def research_export_sweep() -> None:
    from .services.research import research_export_sweep as sweep

    sweep()
