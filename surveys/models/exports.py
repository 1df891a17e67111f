from django.conf import settings
from django.db import OperationalError, models
from django.utils.translation import gettext_lazy as _

from config.jobs import Job


class ExportJob(Job):
    """A wave's responses written to a file by a background job; run() is safe to repeat.

    It stands on the common job row (claim, lease renewed by its worker, sweep) and keeps the
    words its API and pages have always shown for the statuses.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        SAV = "sav", "SPSS (.sav)"

    class Status(models.TextChoices):
        QUEUED = "created", _("Waiting")
        RUNNING = "processing", _("Processing")
        COMPLETE = "complete", _("Complete")
        ERROR = "error", _("Error")

    task_name = "surveys.export_build"
    task_module = "surveys.tasks_exports"
    # A dropped database connection is worth a retry; anything else is recorded on the row.
    transient_errors = (OperationalError,)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=8, choices=Format.choices)
    language = models.CharField(max_length=8, default="en", help_text="Language of labels.")
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    row_count = models.PositiveIntegerField(default=0)
    source_hash = models.CharField(max_length=64, blank=True, help_text="What was exported; reused if unchanged.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.wave.slug} {self.format} {self.status}"
