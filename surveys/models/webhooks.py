from django.db import models
from django.utils.translation import gettext_lazy as _

from config.outbound import validate_public_url


class WebhookEndpoint(models.Model):
    """A URL told about responses of a survey, signed with HMAC-SHA256 of the body."""

    survey = models.ForeignKey("surveys.Survey", on_delete=models.CASCADE, related_name="webhooks")
    # public addresses only: the server must not be made to post inside its own network
    url = models.URLField(max_length=500, validators=[validate_public_url])
    secret = models.CharField(max_length=128)
    events = models.JSONField(default=list, help_text='["response.created", "response.updated"]')
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the delivery log, retried with backoff until it succeeds or gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    event_id = models.CharField(max_length=64, help_text="Stable id of the event (response and content hash).")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhookdelivery_unique")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due")]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint.url} ({self.status})"
