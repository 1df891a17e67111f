"""What is kept of an erasure: the proof that it was carried out, never who the person was."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ErasureRecord(models.Model):
    """One erasure: the account's former id, who asked, what was removed and what was kept and why.

    The account id is a bare number (the account row is gone): it lets an administrator answer
    "was this request carried out, and when" and lets the audit log's rows about that id be read as
    "an erased account". Nothing here names the person.
    """

    class Requester(models.TextChoices):
        PERSON = "person", _("The person, from their data page")
        ADMINISTRATOR = "administrator", _("An administrator, on the person's request")

    account_id = models.BigIntegerField(db_index=True)
    requested_by = models.CharField(max_length=16, choices=Requester.choices)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="The administrator who carried it out.")
    reason = models.CharField(max_length=300, blank=True, help_text="How the request arrived (a letter, its date).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    removed = models.JSONField(default=dict, help_text="Counts of what was removed, by kind.")
    retained = models.JSONField(default=list, help_text="What a legal obligation keeps, and why.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("erasure record")
        verbose_name_plural = _("erasure records")

    def __str__(self) -> str:
        return f"erasure #{self.pk} of account {self.account_id}"
