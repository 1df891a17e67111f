from __future__ import annotations

from django.conf import settings
from django.db import models


class Message(models.Model):
    """A message relayed by the platform: neither side ever sees the other's address.

    The recipient is told by e-mail that a message waits (notified_at is claimed with a
    conditional UPDATE so a retried task never mails twice) and reads it on the platform.
    """

    # No sender: a notice from the platform itself (an offer, a reminder to confirm a profile).
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="sent_messages"
    )
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="received_messages")
    match = models.ForeignKey(
        "diaspora.Match", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="message_inbox")]

    def __str__(self) -> str:
        return self.subject
