from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESPONDENT = "respondent", _("Respondent")
    PROGRAMME_ADMIN = "programme_admin", _("Programme administrator")
    INSTITUTION_STAFF = "institution_staff", _("Institution staff")
    RESEARCHER = "researcher", _("Researcher")


class Programme(models.Model):
    """A scholarship or mobility programme (Bolashak, Serpin-2050, ...): the unit of administration."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    names = models.JSONField(default=dict, blank=True, help_text='{"kk": "...", "ru": "...", "en": "..."}')

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def local_name(self) -> str:
        """The name in the active language (kk/ru/en), else the name."""
        from django.utils.translation import get_language

        return (self.names or {}).get((get_language() or "").split("-")[0]) or self.name


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.RESPONDENT)
    preferred_language = models.CharField(
        max_length=8, choices=[("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")], default="kk"
    )

    programmes = models.ManyToManyField(
        Programme, blank=True, related_name="administrators", help_text="Programmes this person administers."
    )

    @property
    def can_design_surveys(self) -> bool:
        return self.is_superuser or self.role == Role.PROGRAMME_ADMIN


class AuditEvent(models.Model):
    """Who did what to which object, and when: written by services, never changed afterwards."""

    programme_path = "programme"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # No database constraint and no action on delete: the log is append-only (a trigger refuses
    # UPDATE and DELETE on PostgreSQL), so it keeps the id of an account that is gone.
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    action = models.CharField(max_length=80, db_index=True)
    target = models.CharField(max_length=120, help_text="app.Model:id of the object acted on.", db_index=True)
    programme = models.ForeignKey(
        Programme, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target}"
