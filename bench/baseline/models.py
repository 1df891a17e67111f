from django.db import models


class BaselineRow(models.Model):
    """One row per request of the bare endpoint: the floor a real endpoint is compared with."""

    instance_id = models.UUIDField(unique=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.instance_id)
