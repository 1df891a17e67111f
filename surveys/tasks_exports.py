"""Celery adapter for export jobs: an id in, the service call, nothing else.

Celery autodiscovers only ``surveys/tasks.py``, which imports this module. Jobs go to
the "export" queue (long file builds), chosen where they are enqueued.
"""

from celery import shared_task


@shared_task(name="surveys.export_build")
def export_build(job_id: int) -> None:
    from .services.exports import export_run

    export_run(job_id=job_id)


@shared_task(name="surveys.exports_sweep")
def exports_sweep() -> list[int]:
    from .services.exports import exports_sweep as sweep

    return sweep()
