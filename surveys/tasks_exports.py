"""Celery adapter for export jobs: an id in, the service call, nothing else.

Celery autodiscovers only ``surveys/tasks.py``, which imports this module. Jobs go to
the "export" queue (long file builds: settings route them there).
"""

from celery import shared_task
from django.db import OperationalError

from config.jobs import run_job_task


@shared_task(
    name="surveys.export_build", bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def export_build(self, job_id: int) -> None:
    from .models import ExportJob
    from .services.exports import export_run

    run_job_task(self, ExportJob, job_id, lambda pk: export_run(job_id=pk).status == ExportJob.Status.COMPLETE)


@shared_task(name="surveys.exports_sweep")
def exports_sweep() -> list[int]:
    from .services.exports import exports_sweep as sweep

    return sweep()
