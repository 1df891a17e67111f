from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    """A wave's responses written to a file by a background job; run() is safe to repeat."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        SAV = "sav", "SPSS (.sav)"

    class Status(models.TextChoices):
        CREATED = "created", _("Waiting")
        PROCESSING = "processing", _("Processing")
        COMPLETE = "complete", _("Complete")
        ERROR = "error", _("Error")

    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=8, choices=Format.choices)
    language = models.CharField(max_length=8, default="en", help_text="Language of labels.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    row_count = models.PositiveIntegerField(default=0)
    source_hash = models.CharField(max_length=64, blank=True, help_text="What was exported; reused if unchanged.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.wave.slug} {self.format} {self.status}"
